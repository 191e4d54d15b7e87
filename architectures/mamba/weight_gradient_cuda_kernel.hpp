// Launchers of the CUDA weight gradient of Mamba's narrow projections in bfloat16
// (weight_gradient_cuda_kernel.cu). Raw device pointers, sizes and a stream: nothing from
// LibTorch, so that nvcc builds them whether or not LibTorch has CUDA. left_multiply_cuda.cpp
// hands them tensors.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "left_multiply_cuda_kernel.hpp"

namespace parrot::mamba::cuda_product {

// gradient [rows, depth] = the sum over b and c of g[b, r, c] x[b, k, c]: the gradient of
// left_multiply()'s weight from its output's gradient g [batch, rows, columns] and its input x
// [batch, depth, columns]. The sum runs over batch x columns, which the plan splits into slices
// the way cuda_product::plan splits depth: as many as the current device runs in one wave of
// blocks, at least one. Sizes at least 1.
cudaError_t plan_weight_gradient(const Sizes& sizes, Plan* out);

// The floats of workspace a plan needs for its partial sums (0 for one slice).
int64_t weight_gradient_partial_floats(const Sizes& sizes, const Plan& plan);

// g and x contiguous bfloat16, gradient float; adds in float on tensor cores. `partials` holds
// weight_gradient_partial_floats(sizes, plan) floats.
cudaError_t weight_gradient(const void* g, const void* x, const Sizes& sizes, const Plan& plan,
                            float* partials, float* gradient, cudaStream_t stream);

}  // namespace parrot::mamba::cuda_product
