// Picks how the causal convolution runs: the CUDA kernel where it takes the tensors, LibTorch's
// depthwise convolution everywhere else.

#include "causal_conv.hpp"

#include <torch/torch.h>

#ifdef PARROT_CAUSAL_CONV_CUDA
#include "causal_conv_cuda.hpp"
#endif

namespace parrot::mamba {

torch::Tensor causal_conv_silu(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias) {
#ifdef PARROT_CAUSAL_CONV_CUDA
  if (causal_conv_cuda_applies(x, weight)) return causal_conv_silu_cuda(x, weight, bias);
#endif
  const int64_t length = x.size(1), width = weight.size(2);
  // Padding both ends by width - 1 and keeping the first `length` outputs leaves each output
  // seeing only its own and earlier inputs.
  return torch::silu(torch::conv1d(x.transpose(1, 2), weight, bias, /*stride=*/1,
                                   /*padding=*/width - 1, /*dilation=*/1, /*groups=*/x.size(2))
                         .narrow(2, 0, length));
}

}  // namespace parrot::mamba
