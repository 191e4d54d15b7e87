// Benchmark of the AdamW update on CUDA: parrot's kernel (adam_cuda.hpp) against LibTorch's fused
// multi-tensor one (_fused_adamw_), on the parameters of the paper's Mamba (24 layers, d_model
// 1024, 2048 channels, dt_rank 64, state 32: 162M floats), with and without the clipping divisor,
// and parrot's also writing the parameters' bfloat16 casts, as it does under bf16 precision.
// TB/s counts the 28 bytes an element the update needs, parameter, gradient and both moments
// read, parameter and moments written, and the cast's 2 where it is written.

#include "adam_cuda.hpp"

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <optional>
#include <vector>

#include "cuda_timing.hpp"

namespace parrot {
namespace {

// The shapes of one Mamba layer's parameters, then the model's own: embedding, final norm, output
// (vocabulary 30).
const std::vector<std::vector<int64_t>> kLayerShapes = {
    {1024},     {4096, 1024}, {2048, 1, 4}, {2048}, {128, 2048},
    {2048, 64}, {2048},       {2048, 32},   {2048}, {1024, 2048}};
const std::vector<std::vector<int64_t>> kModelShapes = {{30, 1024}, {1024}, {30, 1024}};
constexpr int kLayers = 24;

// Arguments: ours (0: LibTorch's, 1: parrot's, 2: parrot's writing the casts), divisor (0: none,
// 1: one, as clipping passes).
void BM_AdamWCuda(benchmark::State& state) {
  if (!torch::cuda::is_available()) return state.SkipWithError("no CUDA device");
  const bool ours = state.range(0) >= 1, with_casts = state.range(0) == 2;
  const auto options = torch::TensorOptions(torch::kCUDA).dtype(torch::kFloat);
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, casts, steps;
  int64_t elements = 0;
  const auto add = [&](const std::vector<int64_t>& shape) {
    params.push_back(torch::randn(shape, options));
    grads.push_back(torch::randn(shape, options));
    exp_avgs.push_back(torch::zeros(shape, options));
    exp_avg_sqs.push_back(torch::zeros(shape, options));
    if (with_casts) casts.push_back(torch::zeros(shape, options.dtype(torch::kBFloat16)));
    steps.push_back(torch::ones({}, options));
    elements += params.back().numel();
  };
  for (int layer = 0; layer < kLayers; ++layer)
    for (const auto& shape : kLayerShapes) add(shape);
  for (const auto& shape : kModelShapes) add(shape);
  const auto learning_rate = torch::full({}, 1e-4, options);
  // A divisor of one costs what any does, and leaves the gradients LibTorch's kernel writes back
  // as they were for the next pass.
  const std::optional<torch::Tensor> divisor =
      state.range(1) ? std::optional(torch::ones({}, options)) : std::nullopt;
  const double seconds = bench::time_on_gpu(state, [&] {
    if (ours)
      adam_cuda_update(params, grads, exp_avgs, exp_avg_sqs, casts, steps, learning_rate, divisor,
                       {0.9, 0.999, 1e-8, 0.1, true});
    else
      at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, learning_rate, 0.9, 0.999,
                        0.1, 1e-8, false, false, divisor);
  });
  state.counters["params"] = static_cast<double>(elements);
  state.counters["TB/s"] = (with_casts ? 30.0 : 28.0) * elements / seconds / 1e12;
}
BENCHMARK(BM_AdamWCuda)
    ->ArgsProduct({{0, 1, 2}, {0, 1}})
    ->ArgNames({"ours", "divisor"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace parrot
