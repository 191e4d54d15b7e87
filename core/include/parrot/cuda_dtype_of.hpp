// A tensor's element type as parrot's CUDA kernels name it, for the glue that hands them tensors.
#pragma once

#include <torch/types.h>
#include <parrot/cuda_dtype.hpp>

namespace parrot::cuda {

// The element types the kernels take.
inline bool float_or_bfloat16(torch::ScalarType type) {
  return type == torch::kFloat || type == torch::kBFloat16;
}
inline bool float_or_bfloat16(const torch::Tensor& t) { return float_or_bfloat16(t.scalar_type()); }

// Kernels take float and bfloat16 only: callers send them nothing else.
inline Dtype dtype_of(const torch::Tensor& t) {
  return t.scalar_type() == torch::kBFloat16 ? Dtype::kBFloat16 : Dtype::kFloat32;
}

}  // namespace parrot::cuda
