// LibTorch's CUDA allocator statistics, where the build has them.

#include "device_memory.hpp"

#ifdef PARROT_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace parrot {

#ifdef PARROT_TORCH_CUDA

namespace {
c10::DeviceIndex index_of(const torch::Device& device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}
}  // namespace

void reset_peak_memory(const torch::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(index_of(device));
}

void release_cached_memory(const torch::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
}

std::optional<int64_t> peak_memory_bytes(const torch::Device& device) {
  if (!device.is_cuda()) return std::nullopt;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index_of(device));
  return stats.allocated_bytes[0].peak;  // 0: StatType::AGGREGATE, all pools together
}

#else

void reset_peak_memory(const torch::Device& /*device*/) {}

void release_cached_memory(const torch::Device& /*device*/) {}

std::optional<int64_t> peak_memory_bytes(const torch::Device& /*device*/) { return std::nullopt; }

#endif

}  // namespace parrot
