// The product behind Mamba's narrow projections on CUDA: what left_multiply() runs for CUDA
// tensors when parrot is built with it (PARROT_LEFT_MULTIPLY_CUDA: nvcc present and LibTorch
// with CUDA).
#pragma once

#include <torch/types.h>

namespace parrot::mamba {

// weight [rows, depth] times x [batch, depth, columns], per batch row: [batch, rows, columns],
// contiguous, in their type (float or bfloat16, both the same; arithmetic in float). Any layout.
// Not differentiable: left_multiply() is. Empty sizes are fine.
torch::Tensor left_multiply_cuda(const torch::Tensor& weight, const torch::Tensor& x);

// Whether left_multiply_cuda takes x's device and the two types, and is the faster way for their
// shapes: a weight with at most a quarter as many rows as its depth, whose long sums cuBLAS's
// batched products leave to few blocks. Shapes and the weight's device are checked when it runs.
bool left_multiply_cuda_applies(const torch::Tensor& weight, const torch::Tensor& x);

}  // namespace parrot::mamba
