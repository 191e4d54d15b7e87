// kVec neighbouring elements moved as one load or store (16 bytes at most on CUDA), and whether an
// address allows it. For .cu files only: it includes nothing from LibTorch.
#pragma once

#include <cstdint>

namespace parrot::cuda {

template <typename T, int kVec>
struct alignas(sizeof(T) * kVec) Vector {
  T v[kVec];
};

// Whether p is a multiple of `bytes`: where a Vector of that size may be read or written.
inline bool aligned(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
}

}  // namespace parrot::cuda
