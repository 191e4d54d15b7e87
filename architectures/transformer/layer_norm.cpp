// Picks how a layer norm runs: the CUDA kernels where they take the tensors, the LayerNorm module
// everywhere else.

#include "layer_norm.hpp"

#ifdef PARROT_LAYER_NORM_CUDA
#include "layer_norm_cuda.hpp"

#include <parrot/autocast.hpp>
#endif

namespace parrot::transformer {

torch::Tensor layer_norm(const torch::nn::LayerNorm& norm, const torch::Tensor& x) {
#ifdef PARROT_LAYER_NORM_CUDA
  // Only under autocast, where the kernels save the cast to its type: without it LibTorch's
  // kernels are as fast (docs/PERFORMANCE.md).
  const AutocastState autocast = autocast_state(c10::DeviceType::CUDA);
  if (autocast.enabled && autocast.dtype == torch::kBFloat16 && layer_norm_cuda_applies(norm, x))
    return layer_norm_cuda(x, norm->weight, norm->bias, norm->options.eps(), autocast.dtype);
#endif
  return norm.ptr()->forward(x);
}

}  // namespace parrot::transformer
