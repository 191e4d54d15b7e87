// One GPT-NeoX layer: pre-LayerNorm attention and MLP, summed in parallel (x + attn + mlp) or
// applied one after the other, as the paper's models and their ablations need.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "attention.hpp"
#include "positional.hpp"

namespace parrot::transformer {

// Linear(d, ratio * d), GELU, Linear back.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t d_model, int64_t ratio);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear up{nullptr};
  torch::nn::Linear down{nullptr};
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(int64_t d_model, int64_t heads, int64_t mlp_ratio, bool parallel_residual);
  torch::Tensor forward(const torch::Tensor& x, const PositionEncoding& positions);

  torch::nn::LayerNorm attention_norm{nullptr};
  CausalSelfAttention attention{nullptr};
  torch::nn::LayerNorm mlp_norm{nullptr};
  Mlp mlp{nullptr};

 private:
  bool parallel_residual_;
};
TORCH_MODULE(Block);

}  // namespace parrot::transformer
