// The causal convolution with SiLU as a LibTorch function on CUDA: what causal_conv_silu() runs
// for CUDA tensors when parrot is built with it (PARROT_CAUSAL_CONV_CUDA: nvcc present and LibTorch
// with CUDA).
#pragma once

#include <torch/types.h>

namespace parrot::mamba {

// causal_conv_silu() (causal_conv.hpp), differentiable in x, weight and bias, in one kernel each
// way. x float or bfloat16 (u and x's gradient come in its type), any layout; filter of width 1
// to 8, float or bfloat16; arithmetic and the filter's gradients in float. Empty sizes are fine.
torch::Tensor causal_conv_silu_cuda(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias);

// Whether causal_conv_silu_cuda takes x's device and type and the filter's width (shapes are
// checked when it runs, with errors that say what is wrong).
bool causal_conv_cuda_applies(const torch::Tensor& x, const torch::Tensor& weight);

}  // namespace parrot::mamba
