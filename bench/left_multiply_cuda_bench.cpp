// Benchmark of the product behind Mamba's narrow projections on CUDA: the kernel of
// left_multiply_cuda.hpp against cuBLAS's batched product on the two products it is for in the
// paper's Mamba (d_model 1024, 2048 channels, dt_rank 64, state 32): x_proj's forward, 128 rows
// from 2048 channels, and dt_proj's input gradient, 64 rows from 2048; at the paper's 8 x 220
// tokens, where the kernel runs, and at 64 x 512, where cuBLAS does; in float and in bfloat16.
// TFLOP/s counts 2 rows x depth x columns per batch row.

#include "left_multiply_cuda.hpp"

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "cuda_timing.hpp"

namespace parrot::mamba {
namespace {

struct Shape {
  int64_t batch, length;
};
constexpr Shape kShapes[] = {{8, 220}, {64, 512}};
constexpr int64_t kChannels = 2048;
constexpr int64_t kRows[] = {128, 64};  // x_proj's outputs, dt_proj's rank

// Arguments: product (0: x_proj's forward, 1: dt_proj's input gradient), shape (index into
// kShapes), ours (0: cuBLAS's batched product, 1: the kernel), bf16 (0: float, 1: bfloat16).
void BM_LeftMultiplyCuda(benchmark::State& state) {
  if (!torch::cuda::is_available()) return state.SkipWithError("no CUDA device");
  const int64_t rows = kRows[state.range(0)];
  const Shape& s = kShapes[state.range(1)];
  const bool ours = state.range(2) == 1;
  const auto options =
      torch::TensorOptions(torch::kCUDA).dtype(state.range(3) ? torch::kBFloat16 : torch::kFloat);
  torch::manual_seed(0);
  // dt_proj's input gradient multiplies by its weight's transpose, as the model does.
  const auto weight = state.range(0) == 0 ? torch::randn({rows, kChannels}, options)
                                          : torch::randn({kChannels, rows}, options).t();
  const auto x = torch::randn({s.batch, kChannels, s.length}, options);
  const torch::NoGradGuard no_grad;
  const double seconds = bench::time_on_gpu(state, [&] {
    benchmark::DoNotOptimize(ours ? left_multiply_cuda(weight, x)
                                  : torch::bmm(weight.expand({s.batch, -1, -1}), x));
  });
  state.counters["TFLOP/s"] = 2.0 * s.batch * rows * kChannels * s.length / seconds / 1e12;
}
BENCHMARK(BM_LeftMultiplyCuda)
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}, {0, 1}})
    ->ArgNames({"dt_grad", "shape", "ours", "bf16"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace parrot::mamba
