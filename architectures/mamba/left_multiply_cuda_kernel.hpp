// Launchers of the CUDA product behind Mamba's narrow projections, in float and bfloat16
// (left_multiply_cuda_kernel.cu). Raw device pointers, sizes and a stream: nothing from LibTorch,
// so that nvcc builds them whether or not LibTorch has CUDA. left_multiply_cuda.cpp hands them
// tensors.
#pragma once

#include <cuda_runtime_api.h>
#include <parrot/cuda_dtype.hpp>

#include <cstdint>

namespace parrot::mamba::cuda_product {

using Dtype = parrot::cuda::Dtype;

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

// As many slices as the current device runs in one wave of `dtype`'s blocks, at least one. Sizes
// at least 1.
cudaError_t plan(const Sizes& sizes, Dtype dtype, Plan* out);

// The floats of workspace a plan needs for its partial products (0 for one slice).
int64_t partial_floats(const Sizes& sizes, const Plan& plan);

// out[b, r, c] = sum over k of weight_t[k, r] x[b, k, c]: the weight comes transposed, [depth,
// rows], and everything is contiguous. weight_t, x and out are of `dtype`: float takes fused
// multiply-adds, bfloat16 tensor cores; both add in float. bfloat16 copies its stages 8 bytes at
// a time where rows and columns are multiples of four and the arrays 8-byte aligned, one value at
// a time otherwise. `partials` holds partial_floats(sizes, plan) floats, and `plan` is one for
// `dtype`. Sizes at least 1.
cudaError_t left_multiply(Dtype dtype, const void* weight_t, const void* x, const Sizes& sizes,
                          const Plan& plan, float* partials, void* out, cudaStream_t stream);

}  // namespace parrot::mamba::cuda_product
