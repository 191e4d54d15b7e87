// Causal self-attention: the bias carries both the causal mask and the positional scheme, so the
// same code serves RoPE, NoPE, ALiBi and Hard-ALiBi. With LibTorch 2.x the products go through
// scaled_dot_product_attention: FlashAttention where the mask is causal alone (RoPE, NoPE), the
// memory-efficient kernel with the bias as its additive mask (ALiBi, Hard-ALiBi), so that the
// [batch, heads, length, length] scores and probabilities are never stored.

#include "attention.hpp"
#include "qkv_heads.hpp"

#include <parrot/linear.hpp>
#include <parrot/torch_version.hpp>

#include <torch/torch.h>

#include <cmath>

namespace parrot::transformer {

CausalSelfAttentionImpl::CausalSelfAttentionImpl(int64_t d_model, int64_t heads)
    : qkv(register_module("qkv", torch::nn::Linear(d_model, 3 * d_model))),
      out(register_module("out", torch::nn::Linear(d_model, d_model))),
      heads_(heads),
      head_dim_(d_model / heads) {}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x,
                                               const PositionEncoding& positions) {
  const int64_t batch = x.size(0);
  const int64_t length = x.size(1);
  const auto [query, key, value] = split_heads(linear(qkv, x), heads_, positions.rotary);

#if PARROT_TORCH_AT_LEAST(2, 4)
  // The default scale is 1 / sqrt(head_dim).
  const auto mixed =
      positions.causal_only
          ? at::scaled_dot_product_attention(query, key, value, {}, 0.0, /*is_causal=*/true)
          : at::scaled_dot_product_attention(query, key, value, positions.bias);
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  const auto scores = torch::matmul(query, key.transpose(-2, -1)) * scale + positions.bias;
  const auto mixed = torch::matmul(torch::softmax(scores, -1), value);
#endif
  return linear(out, mixed.transpose(1, 2).reshape({batch, length, heads_ * head_dim_}));
}

}  // namespace parrot::transformer
