// The residual wiring of one layer; the attention and MLP it wires are their own modules.

#include "block.hpp"
#include "layer_norm.hpp"

#include <parrot/linear.hpp>

#include <torch/torch.h>

namespace parrot::transformer {

MlpImpl::MlpImpl(int64_t d_model, int64_t ratio)
    : up(register_module("up", torch::nn::Linear(d_model, ratio * d_model))),
      down(register_module("down", torch::nn::Linear(ratio * d_model, d_model))) {}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return linear(down, torch::gelu(linear(up, x)));
}

BlockImpl::BlockImpl(int64_t d_model, int64_t heads, int64_t mlp_ratio, bool parallel_residual)
    : attention_norm(register_module("attention_norm",
                                     torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})))),
      attention(register_module("attention", CausalSelfAttention(d_model, heads))),
      mlp_norm(register_module("mlp_norm",
                               torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})))),
      mlp(register_module("mlp", Mlp(d_model, mlp_ratio))),
      parallel_residual_(parallel_residual) {}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const PositionEncoding& positions) {
  if (parallel_residual_)
    return x + attention(layer_norm(attention_norm, x), positions) + mlp(layer_norm(mlp_norm, x));
  const auto mixed = x + attention(layer_norm(attention_norm, x), positions);
  return mixed + mlp(layer_norm(mlp_norm, mixed));
}

}  // namespace parrot::transformer
