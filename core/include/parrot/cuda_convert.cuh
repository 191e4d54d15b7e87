// The two element types of parrot's CUDA kernels to and from the float they compute in, and the
// type for a Dtype. For .cu files only: it includes nothing from LibTorch.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <parrot/cuda_dtype.hpp>

namespace parrot::cuda {

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

// Host side: calls f with the element type for `dtype`, as TypeTag<T>: a kernel's instantiations.
template <typename T>
struct TypeTag {
  using type = T;
};
template <typename F>
cudaError_t with_type(Dtype dtype, F&& f) {
  return dtype == Dtype::kBFloat16 ? f(TypeTag<__nv_bfloat16>{}) : f(TypeTag<float>{});
}

}  // namespace parrot::cuda
