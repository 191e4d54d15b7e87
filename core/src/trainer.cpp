// The training loop: AdamW with warm-up and linear decay, gradient clipping, masked loss.

#include "trainer.hpp"

#include "batching.hpp"

#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
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

// Decay matrices and embeddings only; biases and norm gains stay free, as in GPT-NeoX training.
torch::optim::AdamW make_optimizer(Model& model, const TrainSettings& train) {
  std::vector<torch::Tensor> decayed, free;
  for (const auto& parameter : model.parameters())
    (parameter.dim() >= 2 ? decayed : free).push_back(parameter);
  auto options = [&](double weight_decay) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(train.learning_rate)
            .betas({train.adam_beta1, train.adam_beta2})
            .eps(1e-8)
            .weight_decay(weight_decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, options(train.weight_decay));
  groups.emplace_back(free, options(0.0));
  return torch::optim::AdamW(std::move(groups));
}

torch::Tensor masked_cross_entropy(const torch::Tensor& logits, const Batch& batch) {
  namespace F = torch::nn::functional;
  const torch::Tensor per_token =
      F::cross_entropy(logits.reshape({-1, logits.size(-1)}), batch.targets.reshape({-1}),
                       F::CrossEntropyFuncOptions().reduction(torch::kNone));
  const torch::Tensor mask = batch.mask.reshape({-1}).to(per_token.dtype());
  return (per_token * mask).sum() / mask.sum().clamp_min(1);
}

}  // namespace

double scheduled_learning_rate(int64_t step, const TrainSettings& train) {
  if (step < train.warmup_steps)
    return train.learning_rate * static_cast<double>(step + 1) / train.warmup_steps;
  const int64_t decay_steps = std::max<int64_t>(1, train.steps - train.warmup_steps);
  return train.learning_rate * static_cast<double>(train.steps - step) / decay_steps;
}

std::vector<int64_t> curve_steps(int64_t points, int64_t steps) {
  std::set<int64_t> chosen;
  for (int64_t i = 0; i < points; ++i) {
    const double fraction = points == 1 ? 1.0 : static_cast<double>(i) / (points - 1);
    chosen.insert(
        std::max<int64_t>(1, std::llround(std::pow(static_cast<double>(steps), fraction))));
  }
  if (points > 0) chosen.insert(steps);
  return {chosen.begin(), chosen.end()};
}

RunResult execute_run(const Run& run, const Registry& registry, const torch::Device& device,
                      const ProgressCallback& progress) {
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
  auto optimizer = make_optimizer(*model, train);

  RunResult result;
  for (const auto& parameter : model->parameters()) result.parameters += parameter.numel();

  std::vector<std::vector<Example>> curve_sets;
  for (int64_t length : eval.curve_lengths)
    curve_sets.push_back(held_out_examples(*task, length, eval.curve_examples, run.seed));
  const std::vector<int64_t> measure_after = curve_steps(eval.curve_points, train.steps);
  auto next_measure = measure_after.begin();

  Rng data(static_cast<uint64_t>(run.seed));
  double loss_sum = 0;
  int64_t loss_count = 0;
  std::optional<double> latest_accuracy;
  for (int64_t step = 0; step < train.steps; ++step) {
    const auto step_started = Clock::now();
    const Batch batch = pack_training_rows(*task, data, train.batch_size, train.context_length + 1,
                                           train.min_length, train.max_length);
    const Batch on_device{batch.inputs.to(device), batch.targets.to(device), batch.mask.to(device),
                          batch.examples};
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options())
          .lr(scheduled_learning_rate(step, train));
    optimizer.zero_grad();
    const torch::Tensor loss = masked_cross_entropy(model->forward(on_device.inputs), on_device);
    loss.backward();
    if (train.grad_clip > 0)
      torch::nn::utils::clip_grad_norm_(model->parameters(), train.grad_clip);
    optimizer.step();
    const double loss_value = loss.item<double>();
    result.train_seconds += seconds_since(step_started);
    result.examples_seen += batch.examples;
    loss_sum += loss_value;
    ++loss_count;

    if (next_measure != measure_after.end() && step + 1 == *next_measure) {
      CurvePoint point{step + 1, result.examples_seen, loss_sum / loss_count, {}};
      for (size_t i = 0; i < curve_sets.size(); ++i)
        point.accuracy.push_back(
            {eval.curve_lengths[i],
             evaluate(*model, curve_sets[i], vocabulary.pad, eval.batch_size, device)});
      latest_accuracy = point.accuracy.front().accuracy.string_accuracy();
      result.curve.push_back(std::move(point));
      loss_sum = 0;
      loss_count = 0;
      ++next_measure;
    }
    if (progress)
      progress({step + 1, train.steps, result.examples_seen, loss_value, latest_accuracy,
                seconds_since(started)});
  }

  for (int64_t length : eval.lengths) {
    const auto examples = held_out_examples(*task, length, eval.examples, run.seed);
    result.lengths.push_back(
        {length, evaluate(*model, examples, vocabulary.pad, eval.batch_size, device)});
    result.state_bits.push_back(model->state_bits(length));
  }
  result.tokens_per_second =
      static_cast<double>(train.steps * train.batch_size * train.context_length) /
      std::max(result.train_seconds, 1e-9);
  result.wall_seconds = seconds_since(started);
  return result;
}

}  // namespace parrot
