// Layer norm as a LibTorch function on CUDA: what layer_norm() runs for CUDA tensors under bf16
// autocast when parrot is built with it (PARROT_LAYER_NORM_CUDA: nvcc present and LibTorch with
// CUDA).
#pragma once

#include <torch/nn/modules/normalization.h>
#include <torch/types.h>

namespace parrot::transformer {

// (x - mean) / sqrt(variance + eps) * weight + bias over the last dimension, differentiable in x,
// weight and bias, in one kernel each way. x float or bfloat16 in any layout, weight and bias
// float [x.size(-1)]; the result in y_type (float or bfloat16), x's gradient in x's type.
// Arithmetic is float. Empty batches are fine.
torch::Tensor layer_norm_cuda(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, double eps, torch::ScalarType y_type);

// Whether layer_norm_cuda takes `norm` on x: CUDA, float or bfloat16, a norm over the last
// dimension only with a weight and a bias, of a width the kernels take.
bool layer_norm_cuda_applies(const torch::nn::LayerNorm& norm, const torch::Tensor& x);

}  // namespace parrot::transformer
