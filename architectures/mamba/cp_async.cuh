// Asynchronous copies from global to shared memory (cp.async, sm_80 and later): a thread issues
// them without holding the values in registers, commits them as a group, and waits for all but
// the newest groups before a barrier makes them visible to the block. For .cu files only.
#pragma once

namespace parrot::mamba::async_copy {

// 8 bytes from global `src` to shared `dst`, both 8-byte aligned.
__device__ __forceinline__ void copy_8_bytes(void* dst, const void* src) {
  const auto address = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(address), "l"(src));
}

// Closes the group of the copies this thread issued since the last commit.
__device__ __forceinline__ void commit() { asm volatile("cp.async.commit_group;\n" ::); }

// Waits until at most `kPending` of this thread's committed groups are still in flight.
template <int kPending>
__device__ __forceinline__ void wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

}  // namespace parrot::mamba::async_copy
