// The head split with RoPE as a LibTorch function on CUDA: what split_heads() runs for CUDA
// tensors when parrot is built with it (PARROT_ROTARY_CUDA: nvcc present and LibTorch with CUDA).
#pragma once

#include "qkv_heads.hpp"

namespace parrot::transformer {

// split_heads() with `rotary` defined, differentiable in `projected`, in one kernel each way.
// The three results are views of one [batch, length, 3, heads, head_dim] tensor.
QueryKeyValue split_heads_rotated_cuda(const torch::Tensor& projected, int64_t heads,
                                       const RotaryTables& rotary);

// Whether split_heads_rotated_cuda takes `projected`: float or bfloat16, on a CUDA device.
bool rotary_cuda_applies(const torch::Tensor& projected);

}  // namespace parrot::transformer
