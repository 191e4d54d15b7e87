// Launcher of the CUDA head split with RoPE (rotary_cuda_kernel.cu). Raw device pointers, sizes
// and a stream: nothing from LibTorch, so that nvcc builds it whether or not LibTorch has CUDA.
// rotary_cuda.cpp hands it tensors.
#pragma once

#include <cuda_runtime_api.h>
#include <parrot/cuda_dtype.hpp>

#include <cstdint>

namespace parrot::transformer::cuda_rotary {

// The type of the heads read and written. Arithmetic is float.
using Dtype = parrot::cuda::Dtype;

struct Sizes {
  int64_t batch, length, heads, head_dim;
};

// One of queries, keys or values: element (b, h, t, d) is at
// data[b * batch_stride + h * head_stride + t * position_stride + d].
struct Heads {
  const void* data;
  int64_t batch_stride, head_stride, position_stride;
};

// RoPE's tables as positional.hpp's RotaryTables holds them: cos and sin [length, head_dim] float,
// partner [head_dim] int64, contiguous.
struct Rotation {
  const float *cos, *sin;
  const int64_t* partner;
};

// Writes out [batch, length, 3, heads, head_dim], contiguous, from queries, keys and values
// (in order, any strides with head_dim contiguous):
//   out = x * cos + direction * x[..., partner] * sin   for queries and keys,
//   out = x                                             for values.
// Forward (direction 1) it turns the qkv projection into rotated heads; backward (direction -1,
// the inverse rotation) it turns the heads' gradients into the projection's. Sizes may be zero.
cudaError_t rotate_heads(Dtype dtype, const Heads (&in)[3], const Sizes& sizes,
                         const Rotation& rotation, float direction, void* out, cudaStream_t stream);

}  // namespace parrot::transformer::cuda_rotary
