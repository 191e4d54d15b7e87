// A tensor's element type as parrot's CUDA kernels name it, for the glue that hands them tensors.
#pragma once

#include <torch/types.h>
#include <parrot/cuda_dtype.hpp>

namespace parrot::cuda {

// Kernels take float and bfloat16 only: callers send them nothing else.
inline Dtype dtype_of(const torch::Tensor& t) {
  return t.scalar_type() == torch::kBFloat16 ? Dtype::kBFloat16 : Dtype::kFloat32;
}

}  // namespace parrot::cuda
