// Benchmark of the CUDA selective scan: forward, and forward plus backward, at the paper's
// training shape and at a large one where the GPU is full, with float and bfloat16 inputs; and
// the LibTorch reference on the GPU at the paper's shape, for scale.
//
// Times are the GPU's, from CUDA events. GB/s is the least traffic a pass needs (each input read
// once, each result written once) over that time, and peak_% its share of the device's memory
// bandwidth (memory clock x bus width x 2).

#include "selective_scan.hpp"
#include "selective_scan_cuda.hpp"

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "cuda_timing.hpp"

namespace parrot::mamba {
namespace {

struct Shape {
  int64_t batch, length, channels, state;
};
// The paper's training shape (8 rows of 220 tokens; d_model 1024 expanded twice; state 32), a
// large one, and the large one with Mamba's default state size of 16.
constexpr Shape kShapes[] = {{8, 220, 2048, 32}, {64, 512, 2048, 32}, {64, 512, 2048, 16}};

double peak_bytes_per_second() {
  int device = 0, clock_khz = 0, bus_bits = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device);
  cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device);
  return 2.0 * clock_khz * 1e3 * bus_bits / 8;
}

// With a dt_bias, delta holds dt and the kernels make the step sizes softplus(dt + dt_bias) as
// they load it, as a Mamba layer calls them; without, delta holds the step sizes. Either way they
// are softplus(z - 1) for z standard normal.
struct Problem {
  torch::Tensor u, delta, A, B, C, D, dt_bias, gy;

  torch::Tensor scan() const {
    return dt_bias.defined() ? selective_scan_softplus_cuda(u, delta, dt_bias, A, B, C, D)
                             : selective_scan_cuda(u, delta, A, B, C, D);
  }
  std::vector<torch::Tensor> inputs() const {
    std::vector<torch::Tensor> all{u, delta, A, B, C, D};
    if (dt_bias.defined()) all.push_back(dt_bias);
    return all;
  }
};

// u, delta, B, C and gy in `dtype`; A, D and dt_bias float, as a Mamba layer has them.
Problem make_problem(const Shape& s, torch::ScalarType dtype, bool requires_grad,
                     bool with_dt_bias) {
  torch::manual_seed(0);
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  const auto leaf = [&](const torch::Tensor& t, torch::ScalarType type) {
    return t.to(type).detach().requires_grad_(requires_grad);
  };
  const auto z = torch::randn({s.batch, s.channels, s.length}, cuda);
  return {
      leaf(torch::randn({s.batch, s.channels, s.length}, cuda), dtype),
      leaf(with_dt_bias ? z : torch::nn::functional::softplus(z - 1), dtype),
      leaf(-torch::rand({s.channels, s.state}, cuda) * s.state - 0.5, torch::kFloat),
      leaf(torch::randn({s.batch, s.state, s.length}, cuda), dtype),
      leaf(torch::randn({s.batch, s.state, s.length}, cuda), dtype),
      leaf(torch::randn({s.channels}, cuda), torch::kFloat),
      with_dt_bias ? leaf(torch::full({s.channels}, -1.0f, cuda), torch::kFloat) : torch::Tensor(),
      torch::randn({s.batch, s.channels, s.length}, cuda).to(dtype)};
}

// Least traffic. Forward: read u, delta, B, C, A, D; write y. Backward: read u, delta, gy, B, C,
// A, D; write gu, gdelta, gB, gC, gA, gD.
double forward_bytes(const Shape& s, double element) {
  const double per_channel = s.batch * s.channels * s.length,
               per_state = s.batch * s.state * s.length;
  return (3 * per_channel + 2 * per_state) * element + s.channels * (s.state + 1) * 4.0;
}
double backward_bytes(const Shape& s, double element) {
  const double per_channel = s.batch * s.channels * s.length,
               per_state = s.batch * s.state * s.length;
  return (5 * per_channel + 4 * per_state) * element + 2 * s.channels * (s.state + 1) * 4.0;
}

std::string describe(const Shape& s, torch::ScalarType dtype, bool with_dt_bias) {
  cudaDeviceProp properties{};
  int device = 0;
  cudaGetDevice(&device);
  cudaGetDeviceProperties(&properties, device);
  return "batch " + std::to_string(s.batch) + ", length " + std::to_string(s.length) +
         ", channels " + std::to_string(s.channels) + ", state " + std::to_string(s.state) + ", " +
         (dtype == torch::kBFloat16 ? "bf16" : "fp32") +
         (with_dt_bias ? ", softplus(dt + dt_bias)" : "") + ", " + properties.name;
}

// GB/s and peak_% of a pass that moves `bytes`, timed on the GPU.
template <typename Pass>
void time_traffic(benchmark::State& state, double bytes, Pass pass) {
  const double bytes_per_second = bytes / bench::time_on_gpu(state, pass);
  state.counters["GB/s"] = bytes_per_second / 1e9;
  state.counters["peak_%"] = 100 * bytes_per_second / peak_bytes_per_second();
}

// Arguments: shape (index into kShapes), bf16 (0: float inputs, 1: bfloat16), dt_bias (1: the
// kernels make the step sizes, as in Mamba; 0: they are given), saves (1: as in training, inputs
// that need gradients, so the forward also writes the states the backward starts its chunks
// from; 0: as in evaluation). GB/s counts the least traffic either way.
void BM_SelectiveScanCudaForward(benchmark::State& state) {
  if (!torch::cuda::is_available()) return state.SkipWithError("no CUDA device");
  const Shape& s = kShapes[state.range(0)];
  const auto dtype = state.range(1) ? torch::kBFloat16 : torch::kFloat;
  const bool saves = state.range(3) == 1;
  const torch::AutoGradMode grad_mode(saves);
  const Problem p = make_problem(s, dtype, saves, state.range(2));
  time_traffic(state, forward_bytes(s, torch::elementSize(dtype)),
               [&] { benchmark::DoNotOptimize(p.scan()); });
  state.SetLabel(describe(s, dtype, state.range(2)) + (saves ? ", saving states" : ""));
}
BENCHMARK(BM_SelectiveScanCudaForward)
    ->ArgsProduct({{0, 1, 2}, {0, 1}, {0, 1}, {0, 1}})
    ->ArgNames({"shape", "bf16", "dt_bias", "saves"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

template <typename Scan>
void forward_backward(benchmark::State& state, const Shape& s, torch::ScalarType dtype,
                      bool with_dt_bias, Scan scan) {
  const Problem p = make_problem(s, dtype, true, with_dt_bias);
  const double element = torch::elementSize(dtype);
  time_traffic(state, forward_bytes(s, element) + backward_bytes(s, element), [&] {
    benchmark::DoNotOptimize(torch::autograd::grad({scan(p)}, p.inputs(), {p.gy}));
  });
  state.SetLabel(describe(s, dtype, with_dt_bias));
}

void BM_SelectiveScanCudaForwardBackward(benchmark::State& state) {
  if (!torch::cuda::is_available()) return state.SkipWithError("no CUDA device");
  forward_backward(state, kShapes[state.range(0)],
                   state.range(1) ? torch::kBFloat16 : torch::kFloat, state.range(2),
                   [](const Problem& p) { return p.scan(); });
}
BENCHMARK(BM_SelectiveScanCudaForwardBackward)
    ->ArgsProduct({{0, 1, 2}, {0, 1}, {0, 1}})
    ->ArgNames({"shape", "bf16", "dt_bias"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// The LibTorch reference on the GPU: a few small kernels per step, forward and backward.
void BM_SelectiveScanCudaReference(benchmark::State& state) {
  if (!torch::cuda::is_available()) return state.SkipWithError("no CUDA device");
  forward_backward(state, kShapes[0], torch::kFloat, false, [](const Problem& p) {
    return selective_scan_reference(p.u, p.delta, p.A, p.B, p.C, p.D);
  });
}
BENCHMARK(BM_SelectiveScanCudaReference)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace parrot::mamba
