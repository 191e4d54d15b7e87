// One run from scratch: build the model, train on fresh packed rows, evaluate on held-out sets
// along the way (the sample-efficiency curve) and at every evaluation length at the end.
#pragma once

#include "evaluation.hpp"
#include "suite.hpp"

#include <functional>
#include <optional>

namespace parrot {

struct LengthAccuracy {
  int64_t length;
  Accuracy accuracy;
};

struct CurvePoint {
  int64_t step;
  int64_t examples_seen;
  double loss;  // mean training loss over the steps since the previous point
  std::vector<LengthAccuracy> accuracy;  // at eval.curve_lengths
};

struct RunResult {
  std::vector<CurvePoint> curve;
  std::vector<LengthAccuracy> lengths;  // at eval.lengths, after training
  std::vector<int64_t> state_bits;      // at eval.lengths
  int64_t parameters = 0;
  int64_t examples_seen = 0;
  double train_seconds = 0;  // optimizer steps only
  double wall_seconds = 0;   // everything, evaluation included
  double tokens_per_second = 0;
};

struct Progress {
  int64_t step, steps, examples_seen;
  double loss;                            // of the latest step
  std::optional<double> string_accuracy;  // at the latest curve point, first curve length
  double elapsed_seconds;
};
using ProgressCallback = std::function<void(const Progress&)>;

// Linear warm-up over warmup_steps, then linear decay towards 0 at the last step. `step` counts
// from 0; the first step already gets a non-zero rate.
double scheduled_learning_rate(int64_t step, const TrainSettings& train);

// The steps after which the curve is measured: `points` steps log-spaced in [1, steps], distinct,
// always ending at `steps`.
std::vector<int64_t> curve_steps(int64_t points, int64_t steps);

RunResult execute_run(const Run& run, const Registry& registry, const torch::Device& device,
                      const ProgressCallback& progress = {});

}  // namespace parrot
