// Peak device memory as LibTorch's CUDA allocator counts it: bytes held by tensors.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>

namespace parrot {

void reset_peak_memory(const torch::Device& device);

// Returns the allocator's cached, unused blocks to the device. A run's CUDA graph allocates from
// a pool of its own, which cannot take blocks another run left cached: each run starts clean.
void release_cached_memory(const torch::Device& device);

// The most bytes in tensors on `device` since the last reset; none on CPU, or in a build
// without LibTorch's CUDA.
std::optional<int64_t> peak_memory_bytes(const torch::Device& device);

}  // namespace parrot
