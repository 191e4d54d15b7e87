// Scoring: one teacher-forced pass with argmax at every position, which for these tasks equals
// greedy decoding's exact match. String accuracy counts an example only if every target is right.
#pragma once

#include <parrot/model.hpp>
#include <parrot/task.hpp>

#include <vector>

namespace parrot {

struct Accuracy {
  int64_t examples = 0;
  int64_t strings_correct = 0;
  int64_t targets = 0;
  int64_t targets_correct = 0;
  double string_accuracy() const { return examples ? double(strings_correct) / examples : 0.0; }
  double char_accuracy() const { return targets ? double(targets_correct) / targets : 0.0; }
};

// Held-out examples of one length; the first n are the same whatever `count` is, and the same for
// every architecture of a seed.
std::vector<Example> held_out_examples(const Task& task, int64_t length, int64_t count,
                                       uint64_t seed);

// Scores `examples` (in batches of `batch_size`, on the model's device) without touching the
// model's mode beyond the call: it runs in eval mode and restores training mode after.
Accuracy evaluate(Model& model, const std::vector<Example>& examples, int64_t pad,
                  int64_t batch_size, const torch::Device& device);

}  // namespace parrot
