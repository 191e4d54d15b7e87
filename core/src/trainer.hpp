// One run: build the model, train on fresh packed rows, evaluate on held-out sets along the way
// (the sample-efficiency curve) and on every evaluation task and length at the end. A run can
// stop at a checkpoint and resume from it with the same numbers as if it never stopped.
#pragma once

#include "batch_prefetcher.hpp"
#include "evaluation.hpp"
#include "suite.hpp"

#include <torch/optim/optimizer.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>

namespace parrot {

struct LengthAccuracy {
  int64_t length;
  Accuracy accuracy;
};

struct CurvePoint {
  int64_t step;
  int64_t examples_seen;
  double loss;  // mean training loss over the steps since the previous point
  std::vector<LengthAccuracy> accuracy;  // at eval.curve_lengths, on the training task
};

struct TaskLengthAccuracy {
  std::string task;  // the suite's name of the evaluation task
  int64_t length;
  Accuracy accuracy;
  int64_t state_bits;
  std::optional<double> memory_bits;
};

struct RunResult {
  std::vector<CurvePoint> curve;
  std::vector<TaskLengthAccuracy> lengths;  // every evaluation task x eval.lengths
  int64_t parameters = 0;
  int64_t steps = 0;
  int64_t examples_seen = 0;
  bool stopped_early = false;
  double train_seconds = 0;  // optimizer steps only, summed over resumptions
  double wall_seconds = 0;   // this process's share, evaluation included
  double tokens_per_second = 0;
};

struct Progress {
  int64_t step, steps;  // steps is the budget's estimate when the budget is in examples
  int64_t examples_seen;
  double loss;                            // of the latest step
  std::optional<double> string_accuracy;  // at the latest curve point, first curve length
  double elapsed_seconds;
};
using ProgressCallback = std::function<void(const Progress&)>;

// Where and how often a run saves its state, and when to stop.
struct CheckpointPolicy {
  std::filesystem::path file;  // empty: no checkpoints
  double every_seconds = 0;    // 0: only when stopped
  std::function<bool()> stop;  // asked between steps; true: save and throw RunStopped
};

// Thrown after a run saved a checkpoint because `CheckpointPolicy::stop` asked it to.
struct RunStopped : std::runtime_error {
  int64_t step;
  RunStopped(int64_t step)
      : std::runtime_error("stopped at step " + std::to_string(step)), step(step) {}
};

// The learning rate of a step: linear warm-up over warmup_steps (`step` counts from 0, so the
// first step already gets a non-zero rate), then the schedule from the peak towards 0, where
// `progress` in [0, 1] is the share of the budget after the warm-up already used.
double scheduled_learning_rate(const TrainSettings& train, int64_t step, double progress);

// A run's task, and its model and optimizer on `device`, initialized from the run's seed.
struct Trainee {
  std::shared_ptr<Task> task;
  std::shared_ptr<Model> model;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
};
Trainee make_trainee(const Run& run, const Registry& registry, const torch::Device& device);

// The run's packed training batches, drawn ahead on a data thread (from a task instance of its
// own) with the generator starting in state `start`; pinned for a CUDA `device`.
BatchPrefetcher training_batches(const Run& run, const Registry& registry,
                                 const BatchPrefetcher::RngState& start,
                                 const torch::Device& device);

// Trains and evaluates `run`. With a checkpoint file that exists, resumes from it. Throws
// RunStopped when the policy's stop asked for it (after saving). `cuda_graph`: on CUDA, replay
// the training step from a CUDA graph where it can be captured (training_step.hpp).
RunResult execute_run(const Run& run, const Registry& registry, const torch::Device& device,
                      const ProgressCallback& progress = {},
                      const CheckpointPolicy& checkpoints = {}, bool cuda_graph = true);

}  // namespace parrot
