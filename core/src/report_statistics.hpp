// The statistics the report puts beside accuracies: a confidence interval for a share of
// strings right, and the memory bound on what a model with a fixed state can get right.
#pragma once

#include <cstdint>

namespace parrot {

struct Interval {
  double low, high;
};

// The 95% Wilson score interval for `correct` successes out of `trials`. Unlike the normal
// approximation it stays inside [0, 1] and is honest at 0% and 100%, where accuracies sit.
// No trials: [0, 1], nothing is known.
Interval wilson_interval(int64_t correct, int64_t trials);

// The highest string accuracy possible for a model that carries `state_bits` from the prompt to
// the answer when the task needs `memory_bits`: it tells apart at most 2^state_bits prompts,
// so min(1, 2^(state_bits - memory_bits)).
double memory_bound(double state_bits, double memory_bits);

}  // namespace parrot
