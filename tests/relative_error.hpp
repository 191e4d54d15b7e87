// The error measure of the numerical tests: the largest difference relative to the largest value.
// Elementwise ratios blow up where a value happens to cross zero, while this still catches any
// term that is wrong or missing.
#pragma once

#include <torch/torch.h>

namespace parrot::test {

// In double on the CPU, whatever the tensors' devices and types; 0 for empty tensors.
inline double relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  if (expected.numel() == 0) return 0;
  const auto a = actual.to(torch::kCPU, torch::kDouble);
  const auto e = expected.to(torch::kCPU, torch::kDouble);
  const double scale = e.abs().max().item<double>();
  return (a - e).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

}  // namespace parrot::test
