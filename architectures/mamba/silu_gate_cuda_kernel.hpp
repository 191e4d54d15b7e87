// Launchers of the CUDA output gate of Mamba's block (silu_gate_cuda_kernel.cu). Raw device
// pointers, sizes and a stream: nothing from LibTorch, so that nvcc builds them whether or not
// LibTorch has CUDA. silu_gate_cuda.cpp hands them tensors.
#pragma once

#include <cuda_runtime_api.h>
#include <parrot/cuda_dtype.hpp>

#include <cstdint>

namespace parrot::mamba::cuda_gate {

// The type of y, z, out and the gradients. Arithmetic is float.
using Dtype = parrot::cuda::Dtype;

struct Sizes {
  int64_t batch, length, channels;
};

// z [batch, length, channels]: element (b, t, c) at z[b * batch_stride + t * position_stride + c].
struct Gate {
  const void* z;
  int64_t batch_stride, position_stride;
};

// From y [batch, channels, length], contiguous: out [batch, length, channels], contiguous,
//   out[b, t, c] = y[b, c, t] * silu(z[b, t, c]).
// Any size may be zero.
cudaError_t forward(Dtype dtype, const void* y, const Gate& z, const Sizes& sizes, void* out,
                    cudaStream_t stream);

// From gout [batch, length, channels], contiguous: gy [batch, channels, length] and gz
// [batch, length, channels], both contiguous,
//   gy[b, c, t] = gout[b, t, c] * silu(z[b, t, c]),
//   gz[b, t, c] = gout[b, t, c] * y[b, c, t] * silu'(z[b, t, c]).
// Sizes at least 1.
cudaError_t backward(Dtype dtype, const void* y, const Gate& z, const Sizes& sizes,
                     const void* gout, void* gy, void* gz, cudaStream_t stream);

}  // namespace parrot::mamba::cuda_gate
