// Benchmark of the selective scan's forward and backward at the paper's Mamba sizes: the
// hand-written CPU kernel, on each instruction set the CPU runs, against the LibTorch reference.

#include "cpu_runtime.hpp"
#include "selective_scan.hpp"
#include "selective_scan_cpu_kernel.hpp"

#include <benchmark/benchmark.h>
#include <torch/torch.h>

namespace parrot::mamba {
namespace {

// 8 rows of 220 tokens; d_model 1024 expanded twice gives 2048 channels; state 32.
constexpr int64_t kBatch = 8, kLength = 220, kChannels = 2048, kState = 32;

using Scan = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                               const torch::Tensor&, const torch::Tensor&, const torch::Tensor&);

void forward_backward(benchmark::State& state, Scan scan) {
  configure_cpu_runtime();  // as `suite` does
  torch::manual_seed(0);
  const auto leaf = [](torch::Tensor t) { return t.requires_grad_(); };
  const auto u = leaf(torch::randn({kBatch, kChannels, kLength}));
  const auto delta =
      leaf(torch::nn::functional::softplus(torch::randn({kBatch, kChannels, kLength}) - 1));
  const auto A = leaf(-torch::rand({kChannels, kState}) * kState - 0.5);
  const auto B = leaf(torch::randn({kBatch, kState, kLength}));
  const auto C = leaf(torch::randn({kBatch, kState, kLength}));
  const auto D = leaf(torch::randn({kChannels}));
  const auto weights = torch::randn({kBatch, kChannels, kLength});
  for (auto _ : state) {
    const auto grads = torch::autograd::grad({(scan(u, delta, A, B, C, D) * weights).sum()},
                                             {u, delta, A, B, C, D});
    benchmark::DoNotOptimize(grads[0].data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * kBatch * kLength);  // tokens
}

// Argument: index into supported_kernels(); the last is the one selective_scan_cpu uses.
void BM_SelectiveScanCpu(benchmark::State& state) {
  const auto kernels = cpu_scan::supported_kernels();
  if (state.range(0) >= static_cast<int64_t>(kernels.size())) {
    state.SkipWithError("instruction set not supported by this CPU");
    return;
  }
  cpu_scan::use_kernels(kernels[state.range(0)]);
  forward_backward(state, selective_scan_cpu);
  cpu_scan::use_kernels(kernels.back());
  state.SetLabel(kernels[state.range(0)].isa);
}
BENCHMARK(BM_SelectiveScanCpu)
    ->DenseRange(0, 2)
    ->ArgName("isa")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_SelectiveScanReference(benchmark::State& state) {
  forward_backward(state, selective_scan_reference);
}
BENCHMARK(BM_SelectiveScanReference)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace parrot::mamba
