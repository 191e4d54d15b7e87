// Launchers of the CUDA causal convolution with SiLU (causal_conv_cuda_kernel.cu). Raw device
// pointers, sizes and a stream: nothing from LibTorch, so that nvcc builds them whether or not
// LibTorch has CUDA. causal_conv_cuda.cpp hands them tensors.
#pragma once

#include <cuda_runtime_api.h>
#include <parrot/cuda_dtype.hpp>

#include <cstdint>

namespace parrot::mamba::cuda_conv {

// The widest filter the kernels take (Mamba's is 4): the backward keeps a gradient per tap in
// registers.
constexpr int64_t kMaxWidth = 8;

// The type of x, u and their gradients. Filter, arithmetic and the filter's gradients are float.
using Dtype = parrot::cuda::Dtype;

struct Sizes {
  int64_t batch, length, channels, width;
};

// x [batch, length, channels]: element (b, t, c) at x[b * batch_stride + t * position_stride + c].
struct Input {
  const void* x;
  int64_t batch_stride, position_stride;
};

// weight [channels, width] and bias [channels], contiguous.
struct Filter {
  const float *weight, *bias;
};

// u [batch, channels, length], contiguous:
//   u[b, c, t] = silu(bias[c] + sum_k weight[c, k] * x[b, t - (width - 1) + k, c]),
// with x zero before the sequence starts. Any size may be zero; width 1 to kMaxWidth.
cudaError_t forward(Dtype dtype, const Input& in, const Filter& filter, const Sizes& sizes, void* u,
                    cudaStream_t stream);

// How many partial sums of the filter's gradient the backward leaves: one per batch row and
// segment of the sequence (short batches split the sequence to keep the device busy).
int64_t partial_sums(const Sizes& sizes);

// From gu [batch, channels, length], contiguous: gx [batch, length, channels], contiguous and
// final, and float partial sums of the filter's gradients for the caller to add up, `partials`
// [partial_sums(sizes), channels * (width + 1)]: in each row the weight's [channels, width],
// then the bias's [channels], so that one sum over rows gives both. Each partial sum is written
// by one thread in a fixed order: the result is the same bits every run. Sizes at least 1.
cudaError_t backward(Dtype dtype, const Input& in, const Filter& filter, const Sizes& sizes,
                     const void* gu, void* gx, float* partials, cudaStream_t stream);

}  // namespace parrot::mamba::cuda_conv
