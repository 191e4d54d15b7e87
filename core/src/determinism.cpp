// Deterministic-algorithm switches.

#include "determinism.hpp"

#include <ATen/Context.h>

#include <cstdlib>

namespace parrot {

DeterminismScope::DeterminismScope(bool deterministic, const torch::Device& device)
    : on_(deterministic) {
  if (!on_) return;
  // LibTorch refuses cuBLAS calls in deterministic mode unless this names a fixed workspace;
  // a value the user set is kept, and LibTorch's error explains a wrong one.
  if (device.is_cuda()) setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  auto& context = at::globalContext();
  previous_algorithms_ = context.deterministicAlgorithms();
  previous_warn_only_ = context.deterministicAlgorithmsWarnOnly();
  previous_cudnn_ = context.deterministicCuDNN();
  previous_benchmark_ = context.benchmarkCuDNN();
  context.setDeterministicAlgorithms(true, /*warn_only=*/false);
  context.setDeterministicCuDNN(true);
  context.setBenchmarkCuDNN(false);
}

DeterminismScope::~DeterminismScope() {
  if (!on_) return;
  auto& context = at::globalContext();
  context.setDeterministicAlgorithms(previous_algorithms_, previous_warn_only_);
  context.setDeterministicCuDNN(previous_cudnn_);
  context.setBenchmarkCuDNN(previous_benchmark_);
}

}  // namespace parrot
