// Causal multi-head self-attention as in GPT-NeoX: one fused qkv projection, scaled dot products
// plus a positional bias, softmax, output projection. Written with plain LibTorch ops.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "positional.hpp"

namespace parrot::transformer {

class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  CausalSelfAttentionImpl(int64_t d_model, int64_t heads);

  // x [batch, length, d_model]; `positions` was built for this length (its bias holds the mask).
  torch::Tensor forward(const torch::Tensor& x, const PositionEncoding& positions);

  torch::nn::Linear qkv{nullptr};
  torch::nn::Linear out{nullptr};

 private:
  int64_t heads_;
  int64_t head_dim_;
};
TORCH_MODULE(CausalSelfAttention);

}  // namespace parrot::transformer
