// Timing the training step: wait for the device before starting the clock and after the last
// step, so the time is the device's, not the host's.

#include "bench.hpp"

#include "batch_prefetcher.hpp"
#include "determinism.hpp"
#include "device_memory.hpp"
#include "precision.hpp"
#include "trainer.hpp"
#include "training_step.hpp"

#include <parrot/error.hpp>

#include <chrono>
#include <regex>

namespace parrot {

StepShape parse_step_shape(const std::string& text) {
  static const std::regex shape(R"(([1-9][0-9]*)x([1-9][0-9]*))");
  std::smatch match;
  if (!std::regex_match(text, match, shape))
    throw InputError("--shape '" + text + "': expected <rows>x<tokens>, e.g. 8x220");
  return {std::stoll(match[1]), std::stoll(match[2])};
}

BenchResult bench_run(const Run& run, const Registry& registry, const torch::Device& device,
                      const BenchSettings& settings) {
  const Trainee trainee = make_trainee(run, registry, device);
  reset_peak_memory(device);  // the peak from here on counts the weights, which stay
  const PrecisionScope precision(run.train.precision, device);
  const DeterminismScope determinism(run.train.deterministic, device);
  BatchPrefetcher batches =
      training_batches(run, registry, Rng(static_cast<uint64_t>(run.seed)).state(), device);
  TrainingStep step(*trainee.model, *trainee.optimizer, run.train, device, settings.cuda_graph);

  BenchResult result{};
  for (const auto& parameter : trainee.model->parameters()) result.parameters += parameter.numel();
  // A fixed rate: the schedule's cost is on the host and the same at every step.
  const double rate = run.train.learning_rate;
  for (int64_t i = 0; i < settings.warmup_steps; ++i) step.run(batches.next().batch, rate);
  torch::Tensor loss = step.run(batches.next().batch, rate);
  loss.item<double>();  // the device is idle from here

  const auto started = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < settings.steps; ++i) loss = step.run(batches.next().batch, rate);
  loss.item<double>();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  result.mode = step.mode();
  result.step_ms = 1e3 * seconds / static_cast<double>(settings.steps);
  result.tokens_per_second =
      static_cast<double>(settings.steps * run.train.batch_size * run.train.context_length) /
      seconds;
  result.peak_memory_bytes = peak_memory_bytes(device);

  if (!settings.profile_trace.empty()) {
    // Enough to see every kernel of a step and its usual time, few enough to keep the trace small.
    constexpr int64_t kProfiledSteps = 3;
    StepProfiler profiler(device);
    for (int64_t i = 0; i < kProfiledSteps; ++i) loss = step.run(batches.next().batch, rate);
    loss.item<double>();
    result.profile = profiler.finish(settings.profile_trace, kProfiledSteps);
  }
  return result;
}

}  // namespace parrot
