// The Transformer's layer norms: under bf16 autocast on CUDA one kernel each way in builds that
// have it (layer_norm_cuda.hpp), the LayerNorm module everywhere else.
#pragma once

#include <torch/nn/modules/normalization.h>
#include <torch/types.h>

namespace parrot::transformer {

// norm(x) over the last dimension. Where the kernels run the result comes in autocast's type,
// which is what the next matrix product takes (LibTorch's layer norm gives float under autocast,
// which that product then casts); the values are the same.
torch::Tensor layer_norm(const torch::nn::LayerNorm& norm, const torch::Tensor& x);

}  // namespace parrot::transformer
