// Two neighbouring elements loaded or stored as one access of twice the width, in the float that
// kernels compute in. A warp that reads one 2-byte bfloat16 a lane moves 64 bytes a load; pairs
// move 128 with half the loads. For .cu files only.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include <parrot/cuda_convert.cuh>

namespace parrot::cuda {

template <typename T>
struct PairOf;
template <>
struct PairOf<float> {
  using type = float2;
};
template <>
struct PairOf<__nv_bfloat16> {
  using type = __nv_bfloat162;
};

__device__ __forceinline__ float2 to_float2(float2 v) { return v; }
__device__ __forceinline__ float2 to_float2(__nv_bfloat162 v) { return __bfloat1622float2(v); }
template <typename T>
__device__ __forceinline__ typename PairOf<T>::type from_float2(float2 v);
template <>
__device__ __forceinline__ float2 from_float2<float>(float2 v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat162 from_float2<__nv_bfloat16>(float2 v) {
  return __float22bfloat162_rn(v);
}

// The elements at at[0] and at[1] where they are among the `count` that start at `at` (none where
// count <= 0), zero otherwise. kPaired promises that `at` is aligned to a pair and that count is
// even or at least 2: the pair is then one load.
template <bool kPaired, typename T>
__device__ __forceinline__ float2 load_pair(const T* at, int64_t count) {
  if constexpr (kPaired) {
    return count >= 2 ? to_float2(*reinterpret_cast<const typename PairOf<T>::type*>(at))
                      : make_float2(0.0f, 0.0f);
  } else {
    return make_float2(count >= 1 ? to_float(at[0]) : 0.0f, count >= 2 ? to_float(at[1]) : 0.0f);
  }
}

// Stores v.x at at[0] and v.y at at[1] where they are among the `count` elements that start at
// `at`, as load_pair reads them.
template <bool kPaired, typename T>
__device__ __forceinline__ void store_pair(T* at, int64_t count, float2 v) {
  if constexpr (kPaired) {
    if (count >= 2) *reinterpret_cast<typename PairOf<T>::type*>(at) = from_float2<T>(v);
  } else {
    if (count >= 1) at[0] = from_float<T>(v.x);
    if (count >= 2) at[1] = from_float<T>(v.y);
  }
}

// Host side: calls f with the element type for `dtype` and whether every access can take pairs,
// as a TypeTag and a std::bool_constant: a kernel's instantiations. Pairs need `even` (the
// caller's lengths, channel counts and strides are) and every one of `pointers` aligned to a
// pair.
template <typename F>
cudaError_t with_type_and_pairs(Dtype dtype, bool even, std::initializer_list<const void*> pointers,
                                F&& f) {
  return with_type(dtype, [&](auto type) {
    using T = typename decltype(type)::type;
    bool paired = even;
    for (const void* pointer : pointers)
      paired = paired && reinterpret_cast<uintptr_t>(pointer) % (2 * sizeof(T)) == 0;
    return paired ? f(type, std::true_type{}) : f(type, std::false_type{});
  });
}

}  // namespace parrot::cuda
