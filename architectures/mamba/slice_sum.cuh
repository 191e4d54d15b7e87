// Products whose sums are split into slices over blocks: how to split them, and adding the
// slices' partial products in a fixed order, so that every run gives the same bits. For .cu files
// only.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>

#include <parrot/cuda_convert.cuh>

#include "left_multiply_cuda_kernel.hpp"

namespace parrot::mamba::cuda_product {

// How many blocks of `kernel`, `threads` threads each, the current device runs at once.
template <typename Kernel>
cudaError_t block_slots(Kernel kernel, int threads, int64_t* slots) {
  int device = 0, sms = 0, blocks_per_sm = 0;
  if (const auto error = cudaGetDevice(&device)) return error;
  if (const auto error = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device))
    return error;
  if (const auto error =
          cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_sm, kernel, threads, 0))
    return error;
  *slots = int64_t{blocks_per_sm} * sms;
  return cudaSuccess;
}

// A sum of `sum` terms staged `stage` at a time, split into as many slices as `slots` blocks
// hold beside the product's `tiles`, at least one: a second, part-filled wave of blocks would take
// as long as the first. Slices are whole stages.
inline Plan split_sum(int64_t tiles, int64_t sum, int64_t stage, int64_t slots) {
  const int64_t stages = (sum + stage - 1) / stage;
  const int64_t wanted = std::clamp<int64_t>(slots / tiles, 1, stages);
  const int64_t slice_depth = (stages + wanted - 1) / wanted * stage;
  return {(sum + slice_depth - 1) / slice_depth, slice_depth};
}

// Whether a plan's slices cover a sum of `sum` terms, none of them empty.
inline bool covers(const Plan& plan, int64_t sum) {
  return plan.slices >= 1 && plan.slice_depth >= 1 && (plan.slices - 1) * plan.slice_depth < sum &&
         plan.slices * plan.slice_depth >= sum;
}

// out[i] = the sum of partials[s, i] over the slices s, in order, as T.
template <typename T>
__global__ void add_slices_kernel(const float* __restrict__ partials, int64_t slices,
                                  int64_t outputs, T* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < outputs;
       i += int64_t{gridDim.x} * blockDim.x) {
    float sum = 0.0f;
    for (int64_t s = 0; s < slices; ++s) sum += partials[s * outputs + i];
    out[i] = parrot::cuda::from_float<T>(sum);
  }
}

// partials [slices, outputs] into out [outputs] on `stream`.
template <typename T>
cudaError_t add_slices(const float* partials, int64_t slices, int64_t outputs, T* out,
                       cudaStream_t stream) {
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((outputs + kThreads - 1) / kThreads, 1 << 16);
  add_slices_kernel<T>
      <<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(partials, slices, outputs, out);
  return cudaGetLastError();
}

}  // namespace parrot::mamba::cuda_product
