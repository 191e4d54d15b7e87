// Launchers of the CUDA layer norm (layer_norm_cuda_kernel.cu). Raw device pointers, sizes and a
// stream: nothing from LibTorch, so that nvcc builds them whether or not LibTorch has CUDA.
// layer_norm_cuda.cpp hands them tensors.
#pragma once

#include <cuda_runtime_api.h>
#include <parrot/cuda_dtype.hpp>

#include <cstdint>

namespace parrot::transformer::cuda_norm {

using Dtype = parrot::cuda::Dtype;

// The widest row the kernels take: backward keeps two rows of sums per warp in shared memory.
constexpr int64_t kMaxWidth = 4096;

// x [rows, width], contiguous, in `x_type`; weight and bias [width] float. Arithmetic is float.
struct Rows {
  Dtype x_type;
  const void* x;
  const float *weight, *bias;
  int64_t rows, width;
};

// y = (x - mean) * rstd * weight + bias per row, rstd = 1 / sqrt(biased variance + eps), written
// in `y_type` to y [rows, width], contiguous; mean and rstd [rows] float, for backward. Rows may
// be zero; width from 1 to kMaxWidth.
cudaError_t forward(const Rows& in, float eps, Dtype y_type, void* y, float* mean, float* rstd,
                    cudaStream_t stream);

// How many rows of partial sums backward writes for each of the weight's and bias's gradients.
int64_t backward_parts(int64_t rows);

// From gy [rows, width] in `gy_type`, contiguous: x's gradient gx [rows, width] in x's type,
// contiguous, and the weight's and bias's gradients as backward_parts(rows) partial sums
// [parts, width] each, whose sum over parts is the gradient. The same inputs give the same bits.
cudaError_t backward(const Rows& in, const float* mean, const float* rstd, Dtype gy_type,
                     const void* gy, void* gx, float* gweight_parts, float* gbias_parts,
                     cudaStream_t stream);

}  // namespace parrot::transformer::cuda_norm
