// The element types parrot's CUDA kernels read and write, named without LibTorch so that the
// kernels' launcher headers can say them. parrot/cuda_dtype_of.hpp gives a tensor's.
#pragma once

namespace parrot::cuda {

enum class Dtype { kFloat32, kBFloat16 };

}  // namespace parrot::cuda
