// Mamba's causal depthwise convolution and the SiLU after it, from the in-projection's layout to
// the scan's.
#pragma once

#include <torch/types.h>

namespace parrot::mamba {

// u[b, c, t] = silu(bias[c] + sum_k weight[c, 0, k] * x[b, t - (width - 1) + k, c]), x zero
// before the sequence starts: each output sees its own and the width - 1 earlier inputs.
// x [batch, length, channels] in any layout; weight [channels, 1, width] and bias [channels] (or
// undefined) as a depthwise torch::nn::Conv1d holds them; u [batch, channels, length]. The CUDA
// kernel where it applies (causal_conv_cuda.hpp), LibTorch's convolution everywhere else.
torch::Tensor causal_conv_silu(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias);

}  // namespace parrot::mamba
