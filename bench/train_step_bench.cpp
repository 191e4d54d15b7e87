// Micro-benchmarks of the training loop's parts on CPU: packing copy examples into rows, and one
// Transformer training step (forward, masked loss, backward, AdamW) per positional scheme.

#include "batching.hpp"
#include "copy.hpp"
#include "cpu_runtime.hpp"
#include "transformer.hpp"

#include <benchmark/benchmark.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>

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
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3));
  const copy::CopyTask task(26);
  Rng rng(0);
  const Batch batch = pack_training_rows(task, rng, kRows, kContext + 1, 5, 20);
  for (auto _ : state) {
    optimizer.zero_grad();
    const auto logits = model->forward(batch.inputs);
    const auto loss =
        torch::nn::functional::cross_entropy(logits.reshape({-1, 30}), batch.targets.reshape({-1}));
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.SetLabel(kSchemes[state.range(0)]);
  state.SetItemsProcessed(state.iterations() * kRows * kContext);  // tokens
}
BENCHMARK(BM_TransformerTrainStep)
    ->ArgsProduct({{0, 1, 2, 3}, {64, 256}})
    ->ArgNames({"scheme", "d_model"})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace parrot
