// The training loop: batches from the data thread, the step (training_step.hpp) at the
// scheduled learning rate, the curve, early stopping, checkpoints. The loop reads the loss back
// from the device only for progress lines, curve points and checkpoints, so on CUDA the host
// runs ahead of the device.

#include "trainer.hpp"

#include "batch_prefetcher.hpp"
#include "batching.hpp"
#include "checkpoint.hpp"
#include "curve_schedule.hpp"
#include "determinism.hpp"
#include "device_memory.hpp"
#include "optimizer.hpp"
#include "precision.hpp"
#include "training_step.hpp"

#include <torch/utils.h>

#include <chrono>
#include <cmath>

namespace parrot {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// How often the progress line is refreshed; each refresh waits for the device.
constexpr double kProgressSeconds = 0.5;

// Batches drawn ahead of the step that trains on them.
constexpr int kBatchesAhead = 4;

// Training losses summed on the device since the last curve point.
class LossSum {
 public:
  void add(const torch::Tensor& loss) {
    // In double, where sums of float losses are exact: a resumed run adds up the same.
    sum_ = sum_.defined() ? sum_ + loss : loss.to(torch::kDouble);
    ++count_;
  }
  // Moves the sum into `state`'s host totals.
  void settle(TrainerState& state) {
    if (count_ == 0) return;
    state.loss_sum += sum_.item<double>();
    state.loss_count += count_;
    sum_ = torch::Tensor();
    count_ = 0;
  }

 private:
  torch::Tensor sum_;
  int64_t count_ = 0;
};

bool uses_examples_budget(const TrainSettings& train) { return train.examples > 0; }

// How much of the budget is used, in its own unit.
int64_t budget_used(const TrainSettings& train, const TrainerState& state) {
  return uses_examples_budget(train) ? state.examples_seen : state.step;
}

int64_t budget_total(const TrainSettings& train) {
  return uses_examples_budget(train) ? train.examples : train.steps;
}

double schedule_progress(const TrainSettings& train, const TrainerState& state) {
  if (state.step < train.warmup_steps) return 0;
  const double start = uses_examples_budget(train) ? state.examples_at_warmup_end
                                                   : static_cast<double>(train.warmup_steps);
  const double span = std::max(1.0, budget_total(train) - start);
  return std::clamp((budget_used(train, state) - start) / span, 0.0, 1.0);
}

}  // namespace

double scheduled_learning_rate(const TrainSettings& train, int64_t step, double progress) {
  if (step < train.warmup_steps)
    return train.learning_rate * static_cast<double>(step + 1) / train.warmup_steps;
  if (train.schedule == "constant") return train.learning_rate;
  if (train.schedule == "cosine")
    return train.learning_rate * 0.5 * (1 + std::cos(M_PI * progress));
  return train.learning_rate * (1 - progress);
}

Trainee make_trainee(const Run& run, const Registry& registry, const torch::Device& device) {
  release_cached_memory(device);
  torch::manual_seed(static_cast<uint64_t>(run.seed));  // initialization
  Trainee trainee;
  trainee.task = registry.make_task(run.task.component, run.task.params);
  trainee.model = registry.make_model(run.architecture.component, run.architecture.params,
                                      trainee.task->vocabulary().size());
  trainee.model->to(device);
  trainee.model->train();
  trainee.optimizer = make_optimizer(*trainee.model, run.train, device);
  return trainee;
}

BatchPrefetcher training_batches(const Run& run, const Registry& registry,
                                 const BatchPrefetcher::RngState& start,
                                 const torch::Device& device) {
  // A task of its own: the sampler runs on the data thread.
  const std::shared_ptr<const Task> task = registry.make_task(run.task.component, run.task.params);
  const TrainSettings train = run.train;
  return BatchPrefetcher(
      [task, train](Rng& rng) {
        return pack_training_rows(*task, rng, train.batch_size, train.context_length + 1,
                                  train.min_length, train.max_length);
      },
      start, kBatchesAhead, device.is_cuda());
}

RunResult execute_run(const Run& run, const Registry& registry, const torch::Device& device,
                      const ProgressCallback& progress, const CheckpointPolicy& checkpoints,
                      bool cuda_graph) {
  const auto started = Clock::now();
  const TrainSettings& train = run.train;
  const EvalSettings& eval = run.eval;

  const Trainee trainee = make_trainee(run, registry, device);
  const auto& task = trainee.task;
  const auto& model = trainee.model;
  const auto& optimizer = trainee.optimizer;
  const Vocabulary vocabulary = task->vocabulary();
  const PrecisionScope precision(train.precision, device);
  const DeterminismScope determinism(train.deterministic, device);

  TrainerState state;
  state.data_rng = Rng(static_cast<uint64_t>(run.seed)).state();
  const bool resuming = !checkpoints.file.empty() && std::filesystem::exists(checkpoints.file);
  if (resuming) state = load_checkpoint(checkpoints.file, *model, *optimizer);
  LossSum losses;
  auto save = [&] {
    losses.settle(state);
    save_checkpoint(checkpoints.file, *model, *optimizer, state);
  };
  auto stop_requested = [&] { return checkpoints.stop && checkpoints.stop(); };

  RunResult result;
  for (const auto& parameter : model->parameters()) result.parameters += parameter.numel();

  std::vector<std::vector<Example>> curve_sets;
  for (int64_t length : eval.curve_lengths)
    curve_sets.push_back(held_out_examples(*task, length, eval.curve_examples, run.seed));
  const std::vector<int64_t> measure_at = curve_schedule(eval.curve_points, budget_total(train));
  auto next_measure =
      std::upper_bound(measure_at.begin(), measure_at.end(), budget_used(train, state));
  std::optional<double> latest_accuracy;
  if (!state.curve.empty())
    latest_accuracy = state.curve.back().accuracy.front().accuracy.string_accuracy();
  // The step count the progress line shows: exact for a steps budget, a running estimate else.
  auto steps_estimate = [&] {
    if (!uses_examples_budget(train) || state.examples_seen == 0) return train.steps;
    return std::max(state.step, static_cast<int64_t>(
                                    std::ceil(static_cast<double>(train.examples) * state.step /
                                              static_cast<double>(state.examples_seen))));
  };

  // The loop keeps the data generator's state as of the last batch it trained on, which is
  // what a checkpoint must resume from.
  BatchPrefetcher batches = training_batches(run, registry, state.data_rng, device);
  TrainingStep step(*model, *optimizer, train, device, cuda_graph);

  auto last_checkpoint = Clock::now();
  auto last_progress = Clock::time_point{};
  while (!state.training_done) {
    if (budget_used(train, state) >= budget_total(train)) {
      state.training_done = true;
      break;
    }
    if (stop_requested()) {
      if (!checkpoints.file.empty()) save();
      throw RunStopped(state.step);
    }
    const auto step_started = Clock::now();
    BatchPrefetcher::Item next = batches.next();
    const double rate = scheduled_learning_rate(train, state.step, schedule_progress(train, state));
    const torch::Tensor loss = step.run(next.batch, rate);
    losses.add(loss);
    state.data_rng = next.rng_after;
    state.examples_seen += next.batch.examples;
    ++state.step;
    if (state.step == train.warmup_steps) state.examples_at_warmup_end = state.examples_seen;

    const bool measure =
        next_measure != measure_at.end() && budget_used(train, state) >= *next_measure;
    const bool last = budget_used(train, state) >= budget_total(train);
    const bool show = progress && (state.step == 1 || last || measure ||
                                   seconds_since(last_progress) >= kProgressSeconds);
    // Reading the loss waits for the step; only then is its time known.
    const double loss_value = (show || measure) ? loss.item<double>() : 0.0;
    state.train_seconds += seconds_since(step_started);

    if (measure) {
      losses.settle(state);
      CurvePoint point{state.step, state.examples_seen, state.loss_sum / state.loss_count, {}};
      bool reached_target = train.early_stop > 0;
      for (size_t i = 0; i < curve_sets.size(); ++i) {
        point.accuracy.push_back(
            {eval.curve_lengths[i],
             evaluate(*model, curve_sets[i], vocabulary.pad, eval.batch_size, device)});
        reached_target &= point.accuracy.back().accuracy.string_accuracy() >= train.early_stop;
      }
      model->train();
      latest_accuracy = point.accuracy.front().accuracy.string_accuracy();
      state.curve.push_back(std::move(point));
      state.loss_sum = 0;
      state.loss_count = 0;
      while (next_measure != measure_at.end() && *next_measure <= budget_used(train, state))
        ++next_measure;
      if (reached_target && !last) {
        state.stopped_early = true;
        state.training_done = true;
      }
    }
    if (show) {
      progress({state.step, steps_estimate(), state.examples_seen, loss_value, latest_accuracy,
                seconds_since(started)});
      last_progress = Clock::now();
    }
    if (!checkpoints.file.empty() && checkpoints.every_seconds > 0 &&
        seconds_since(last_checkpoint) >= checkpoints.every_seconds) {
      save();
      last_checkpoint = Clock::now();
    }
  }
  losses.settle(state);

  for (const auto& choice : run.eval_tasks) {
    const auto evaluated = registry.make_task(choice.component, choice.params);
    for (int64_t length : eval.lengths) {
      if (stop_requested()) {
        if (!checkpoints.file.empty()) save();
        throw RunStopped(state.step);
      }
      const auto examples = held_out_examples(*evaluated, length, eval.examples, run.seed);
      result.lengths.push_back({choice.name, length,
                                evaluate(*model, examples, vocabulary.pad, eval.batch_size, device),
                                model->state_bits(length), evaluated->memory_bits(length)});
    }
  }
  result.curve = state.curve;
  result.steps = state.step;
  result.examples_seen = state.examples_seen;
  result.stopped_early = state.stopped_early;
  result.train_seconds = state.train_seconds;
  result.tokens_per_second =
      static_cast<double>(state.step * train.batch_size * train.context_length) /
      std::max(result.train_seconds, 1e-9);
  result.wall_seconds = seconds_since(started);
  return result;
}

}  // namespace parrot
