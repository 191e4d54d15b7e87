// Launchers of the CUDA selective scan (selective_scan_cuda_forward.cu and
// selective_scan_cuda_backward.cu). Raw device pointers, sizes and a stream: nothing from
// LibTorch, so that nvcc builds the kernels whether or not LibTorch has CUDA.
// selective_scan_cuda.cpp hands them tensors.
#pragma once

#include <cuda_runtime_api.h>
#include <parrot/cuda_dtype.hpp>

#include <cstdint>

namespace parrot::mamba::cuda_scan {

// Larger states would not fit the backward's shared memory.
constexpr int64_t kMaxState = 128;

// The type of u, delta, B, C and of what is computed from them (y, and the gradients of u and
// delta). Arithmetic and state are float throughout.
using Dtype = parrot::cuda::Dtype;

struct Sizes {
  int64_t batch, channels, length, state;
};

// Device arrays: u, delta [batch, channels, length] and B, C [batch, state, length] of `dtype`;
// A [channels, state] and D [channels] of float. All are contiguous but for B's and C's batch
// stride, one for both, which may be larger than state * length: Mamba's B and C are views of
// one projection. With delta_bias [channels] (float), delta holds Mamba's dt and the step sizes
// are softplus(dt + delta_bias), made as the kernels stage dt; with nullptr, delta holds the step
// sizes.
struct Inputs {
  Dtype dtype;
  const void *u, *delta, *B, *C;
  int64_t BC_batch_stride;
  const float *A, *D;
  const float* delta_bias;
};

// The forward leaves the backward the state at the start of every chunk of kSavedEvery steps but
// the first (which starts from zero): saved_states [batch, chunks - 1, channels, padded state] of
// float, chunks = ceil(length / kSavedEvery), the state entering chunk c at [b, c - 1, d, ...].
// Within a channel the states lie in the order the kernels' lanes hold them
// (selective_scan_cuda_common.cuh), each lane's as one run, with the padding states' zeros.
constexpr int64_t kSavedEvery = 8;
int64_t saved_state_floats(const Sizes& sizes);

// y [batch, channels, length], of the inputs' dtype, and saved_states where it is not nullptr
// (the backward needs them; evaluation does not). Every size may be zero; state at most
// kMaxState.
cudaError_t forward(const Inputs& in, const Sizes& sizes, void* y, float* saved_states,
                    cudaStream_t stream);

// The backward takes each batch row's channels in tiles, `tiles_per_group` tiles to a block, one
// after the other; `groups` blocks per row. plan_backward picks the grouping that just fills the
// current device. Batch, channels and length must be at least 1 here (with any of them zero
// every gradient is zero).
struct BackwardPlan {
  int64_t groups, tiles_per_group;
};
cudaError_t plan_backward(const Sizes& sizes, Dtype dtype, BackwardPlan* plan);

// Where the backward writes. gu and gdelta [batch, channels, length] (inputs' dtype) are final;
// gdelta is dt's gradient where there is a delta_bias. The rest are float partial sums for the
// caller to add up: gA_part [batch, channels, state], gD_part and (with a delta_bias only)
// gdelta_bias_part [batch, channels] per batch row, gB_part and gC_part
// [groups, batch, state, length] per group of channels. Each is written by one thread in a fixed
// order: the result is the same bits every run.
struct Gradients {
  void *gu, *gdelta;
  float *gA_part, *gD_part, *gdelta_bias_part, *gB_part, *gC_part;
};
// saved_states as the forward left them.
cudaError_t backward(const Inputs& in, const Sizes& sizes, const void* gy,
                     const float* saved_states, const BackwardPlan& plan, const Gradients& out,
                     cudaStream_t stream);

}  // namespace parrot::mamba::cuda_scan
