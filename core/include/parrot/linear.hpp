// A Linear layer applied through at::linear rather than the C++ frontend's Linear::forward. For any
// input that is not 2-D the frontend multiplies and then adds the bias in an elementwise pass of
// its own (a broadcast add over the whole output, launched once per layer); at::linear folds a
// contiguous [batch, length, features] input into one addmm (LibTorch 2.x), which on CUDA adds the
// bias in the matrix product's epilogue. The numbers are the same.
#pragma once

#include <torch/torch.h>

namespace parrot {

inline torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return torch::linear(x, layer->weight, layer->bias);
}

}  // namespace parrot
