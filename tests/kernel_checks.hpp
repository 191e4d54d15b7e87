// What the kernels' tests check with: how far a result is from its reference, and which autograd
// node made a tensor (so which path a dispatch took).
#pragma once

#include <torch/torch.h>

#include <string>

namespace parrot::test {

// The largest difference relative to the largest value. Elementwise ratios blow up where a value
// happens to cross zero, while this still catches any term that is wrong or missing. In double on
// the CPU, whatever the tensors' devices and types; 0 for empty tensors.
inline double relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  if (expected.numel() == 0) return 0;
  const auto a = actual.to(torch::kCPU, torch::kDouble);
  const auto e = expected.to(torch::kCPU, torch::kDouble);
  const double scale = e.abs().max().item<double>();
  return (a - e).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

// The name of the autograd node that made `y`, "(none)" for a leaf or a tensor without a graph.
inline std::string grad_fn_name(const torch::Tensor& y) {
  return y.grad_fn() ? y.grad_fn()->name() : "(none)";
}

}  // namespace parrot::test
