// Launchers of the CUDA product behind Mamba's narrow projections in float
// (left_multiply_cuda_kernel.cu). Raw device pointers, sizes and a stream: nothing from LibTorch,
// so that nvcc builds them whether or not LibTorch has CUDA. left_multiply_cuda.cpp hands them
// tensors.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace parrot::mamba::cuda_product {

// out [batch, rows, columns] = weight [rows, depth] times x [batch, depth, columns], per batch row.
struct Sizes {
  int64_t batch, rows, depth, columns;
};

// How the sum over depth is split: into `slices` runs of `slice_depth` (the last one shorter),
// each block taking one, and their partial products added by a second kernel. One slice writes
// out directly.
struct Plan {
  int64_t slices, slice_depth;
};

// As many slices as the current device runs in one wave of blocks, at least one. Sizes at least 1.
cudaError_t plan(const Sizes& sizes, Plan* out);

// The floats of workspace a plan needs for its partial products (0 for one slice).
int64_t partial_floats(const Sizes& sizes, const Plan& plan);

// out[b, r, c] = sum over k of weight_t[k, r] x[b, k, c]: the weight comes transposed, [depth,
// rows], and everything is contiguous. `partials` holds partial_floats(sizes, plan) floats.
// Sizes at least 1.
cudaError_t left_multiply(const float* weight_t, const float* x, const Sizes& sizes,
                          const Plan& plan, float* partials, float* out, cudaStream_t stream);

}  // namespace parrot::mamba::cuda_product
