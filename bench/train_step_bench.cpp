// Micro-benchmarks of the training loop's parts on CPU: packing copy examples into rows, and one
// Transformer training step per positional scheme: the TrainingStep `suite run` trains with
// (forward, masked loss, backward, clipping, AdamW).

#include "batching.hpp"
#include "copy.hpp"
#include "cpu_runtime.hpp"
#include "optimizer.hpp"
#include "training_step.hpp"
#include "transformer.hpp"

#include <benchmark/benchmark.h>

namespace parrot {
namespace {

// The paper's batch: 8 rows of 220 tokens, strings of length 5 to 20.
constexpr int64_t kRows = 8, kContext = 220;

void BM_PackCopyRows(benchmark::State& state) {
  const copy::CopyTask task(26);
  Rng rng(0);
  for (auto _ : state)
    benchmark::DoNotOptimize(pack_training_rows(task, rng, kRows, kContext + 1, 5, 20));
  state.SetItemsProcessed(state.iterations() * kRows * kContext);  // tokens
}
BENCHMARK(BM_PackCopyRows);

// Arguments: positional scheme index into kSchemes, d_model (layers 2, heads 4).
const char* const kSchemes[] = {"nope", "rope", "alibi", "hard_alibi"};

void BM_TransformerTrainStep(benchmark::State& state) {
  configure_cpu_runtime();  // as `suite` does
  const Schema schema = transformer::schema();
  std::map<std::string, Value> values;
  for (const auto& spec : schema) values[spec.name] = spec.default_value;
  values["positional"] = std::string(kSchemes[state.range(0)]);
  values["d_model"] = static_cast<int64_t>(state.range(1));
  const auto model = transformer::make(Params("bench", schema, values, {}), 30);
  TrainSettings train{};  // what a suite trains with by default: AdamW, clipping at 1.0
  train.optimizer = "adamw";
  train.precision = "fp32";
  train.learning_rate = 1e-3;
  train.weight_decay = 0.1;
  train.adam_beta1 = 0.9;
  train.adam_beta2 = 0.999;
  train.grad_clip = 1.0;
  const auto optimizer = make_optimizer(*model, train, torch::kCPU);
  TrainingStep step(*model, *optimizer, train, torch::kCPU, /*graph=*/false);
  const copy::CopyTask task(26);
  Rng rng(0);
  const Batch batch = pack_training_rows(task, rng, kRows, kContext + 1, 5, 20);
  for (auto _ : state) benchmark::DoNotOptimize(step.run(batch, 1e-3).item<float>());
  state.SetLabel(kSchemes[state.range(0)]);
  state.SetItemsProcessed(state.iterations() * kRows * kContext);  // tokens
}
BENCHMARK(BM_TransformerTrainStep)
    ->ArgsProduct({{0, 1, 2, 3}, {64, 256}})
    ->ArgNames({"scheme", "d_model"})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace parrot
