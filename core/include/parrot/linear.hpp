// A Linear layer applied through at::linear rather than the C++ frontend's Linear::forward. For any
// input that is not 2-D the frontend multiplies and then adds the bias in an elementwise pass of
// its own (a broadcast add over the whole output, launched once per layer); at::linear folds a
// contiguous [batch, length, features] input into one addmm (LibTorch 2.x), which on CUDA adds the
// bias in the matrix product's epilogue. The numbers are the same.
#pragma once

#include <parrot/torch_version.hpp>

#include <torch/torch.h>

namespace parrot {

// x W^T + b for `layer`. Under bfloat16 or half autocast on CUDA, with LibTorch 2.8 or later and
// gradients wanted for a float weight, through autocast_linear: the same result, and the weight's
// and bias's gradients made in float.
torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x);

// x W^T + b as autocast computes it, x, weight and bias cast to `type` (bfloat16 or half) and the
// product in it, but with the weight's and bias's gradients in float, as the weights are, made
// so by the matrix product itself. Autocast makes them in `type` and casts them in a pass of
// their own (ToCopyBackward0), losing their low bits on the way. x's gradient comes in x's type.
// CUDA only; LibTorch 2.8 or later (mm with out_dtype). An undefined bias is none.
#if PARROT_TORCH_AT_LEAST(2, 8)
torch::Tensor autocast_linear(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, torch::ScalarType type);
#endif

}  // namespace parrot
