// The product behind Mamba's narrow projections on CUDA: what left_multiply() runs for CUDA
// tensors when parrot is built with it (PARROT_LEFT_MULTIPLY_CUDA: nvcc present and LibTorch
// with CUDA).
#pragma once

#include <torch/types.h>

namespace parrot::mamba {

// weight [rows, depth] times x [batch, depth, columns], per batch row: [batch, rows, columns],
// contiguous, in the inputs' type (both float or both bfloat16, in any layout; sums in float).
// Not differentiable: left_multiply() is. Empty sizes are fine.
torch::Tensor left_multiply_cuda(const torch::Tensor& weight, const torch::Tensor& x);

// Whether left_multiply_cuda takes x's device and the two types, and is the faster way for their
// shapes (bench/left_multiply_cuda_bench.cpp): a weight with at most a quarter as many rows as its
// depth whose product has too few tiles to fill the device, so that the kernel splits its sums.
// There cuBLAS's batched products run each tile's long sum in one block; with tiles enough
// cuBLAS is faster. Shapes and the weight's device are checked when it runs.
bool left_multiply_cuda_applies(const torch::Tensor& weight, const torch::Tensor& x);

}  // namespace parrot::mamba
