// The training loop: AdamW or Adam with warm-up and a schedule, gradient clipping, masked loss,
// the curve, early stopping, checkpoints.

#include "trainer.hpp"

#include "batching.hpp"
#include "checkpoint.hpp"
#include "precision.hpp"

#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <set>

namespace parrot {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Weight decay where the model says (matrices and embeddings by default, as in GPT-NeoX).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(Model& model, const TrainSettings& train) {
  std::vector<torch::Tensor> decayed, free;
  for (const auto& item : model.named_parameters())
    (model.decays(item.key(), item.value()) ? decayed : free).push_back(item.value());
  auto groups = [&](auto options) {
    using Options = decltype(options);
    std::vector<torch::optim::OptimizerParamGroup> list;
    list.emplace_back(decayed,
                      std::make_unique<Options>(Options(options).weight_decay(train.weight_decay)));
    list.emplace_back(free, std::make_unique<Options>(Options(options).weight_decay(0.0)));
    return list;
  };
  if (train.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(
        groups(torch::optim::AdamOptions(train.learning_rate)
                   .betas({train.adam_beta1, train.adam_beta2})
                   .eps(1e-8)));
  return std::make_unique<torch::optim::AdamW>(
      groups(torch::optim::AdamWOptions(train.learning_rate)
                 .betas({train.adam_beta1, train.adam_beta2})
                 .eps(1e-8)));
}

torch::Tensor masked_cross_entropy(const torch::Tensor& logits, const Batch& batch) {
  namespace F = torch::nn::functional;
  const torch::Tensor per_token = F::cross_entropy(
      logits.reshape({-1, logits.size(-1)}).to(torch::kFloat), batch.targets.reshape({-1}),
      F::CrossEntropyFuncOptions().reduction(torch::kNone));
  const torch::Tensor mask = batch.mask.reshape({-1}).to(per_token.dtype());
  return (per_token * mask).sum() / mask.sum().clamp_min(1);
}

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

std::vector<int64_t> curve_steps(int64_t points, int64_t budget) {
  std::set<int64_t> chosen;
  for (int64_t i = 0; i < points; ++i) {
    const double fraction = points == 1 ? 1.0 : static_cast<double>(i) / (points - 1);
    chosen.insert(
        std::max<int64_t>(1, std::llround(std::pow(static_cast<double>(budget), fraction))));
  }
  if (points > 0) chosen.insert(budget);
  return {chosen.begin(), chosen.end()};
}

RunResult execute_run(const Run& run, const Registry& registry, const torch::Device& device,
                      const ProgressCallback& progress, const CheckpointPolicy& checkpoints) {
  const auto started = Clock::now();
  const TrainSettings& train = run.train;
  const EvalSettings& eval = run.eval;

  torch::manual_seed(static_cast<uint64_t>(run.seed));  // initialization
  const auto task = registry.make_task(run.task.component, run.task.params);
  const Vocabulary vocabulary = task->vocabulary();
  const auto model =
      registry.make_model(run.architecture.component, run.architecture.params, vocabulary.size());
  model->to(device);
  model->train();
  const auto optimizer = make_optimizer(*model, train);
  const PrecisionScope precision(train.precision, device);

  TrainerState state;
  state.data_rng = Rng(static_cast<uint64_t>(run.seed)).state();
  const bool resuming = !checkpoints.file.empty() && std::filesystem::exists(checkpoints.file);
  if (resuming) state = load_checkpoint(checkpoints.file, *model, *optimizer);
  Rng data(0);
  data.set_state(state.data_rng);
  auto save = [&] {
    state.data_rng = data.state();
    save_checkpoint(checkpoints.file, *model, *optimizer, state);
  };
  auto stop_requested = [&] { return checkpoints.stop && checkpoints.stop(); };

  RunResult result;
  for (const auto& parameter : model->parameters()) result.parameters += parameter.numel();

  std::vector<std::vector<Example>> curve_sets;
  for (int64_t length : eval.curve_lengths)
    curve_sets.push_back(held_out_examples(*task, length, eval.curve_examples, run.seed));
  const std::vector<int64_t> measure_at = curve_steps(eval.curve_points, budget_total(train));
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

  auto last_checkpoint = Clock::now();
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
    const Batch batch = pack_training_rows(*task, data, train.batch_size, train.context_length + 1,
                                           train.min_length, train.max_length);
    const Batch on_device{batch.inputs.to(device), batch.targets.to(device), batch.mask.to(device),
                          batch.examples};
    const double rate = scheduled_learning_rate(train, state.step, schedule_progress(train, state));
    for (auto& group : optimizer->param_groups()) group.options().set_lr(rate);
    optimizer->zero_grad();
    const torch::Tensor loss = masked_cross_entropy(model->forward(on_device.inputs), on_device);
    loss.backward();
    if (train.grad_clip > 0)
      torch::nn::utils::clip_grad_norm_(model->parameters(), train.grad_clip);
    optimizer->step();
    const double loss_value = loss.item<double>();
    state.train_seconds += seconds_since(step_started);
    state.examples_seen += batch.examples;
    ++state.step;
    if (state.step == train.warmup_steps) state.examples_at_warmup_end = state.examples_seen;
    state.loss_sum += loss_value;
    ++state.loss_count;

    if (next_measure != measure_at.end() && budget_used(train, state) >= *next_measure) {
      CurvePoint point{state.step, state.examples_seen, state.loss_sum / state.loss_count, {}};
      bool reached_target = train.early_stop > 0;
      for (size_t i = 0; i < curve_sets.size(); ++i) {
        point.accuracy.push_back(
            {eval.curve_lengths[i],
             evaluate(*model, curve_sets[i], vocabulary.pad, eval.batch_size, device)});
        reached_target &= point.accuracy.back().accuracy.string_accuracy() >= train.early_stop;
      }
      latest_accuracy = point.accuracy.front().accuracy.string_accuracy();
      state.curve.push_back(std::move(point));
      state.loss_sum = 0;
      state.loss_count = 0;
      while (next_measure != measure_at.end() && *next_measure <= budget_used(train, state))
        ++next_measure;
      if (reached_target) {
        state.stopped_early = true;
        state.training_done = true;
      }
    }
    if (progress)
      progress({state.step, steps_estimate(), state.examples_seen, loss_value, latest_accuracy,
                seconds_since(started)});
    if (!checkpoints.file.empty() && checkpoints.every_seconds > 0 &&
        seconds_since(last_checkpoint) >= checkpoints.every_seconds) {
      save();
      last_checkpoint = Clock::now();
    }
  }

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
