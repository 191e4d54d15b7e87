// Where position enters attention: the four schemes of the paper (RoPE, NoPE, ALiBi, Hard-ALiBi)
// as an additive attention bias and, for RoPE, rotary tables; built for any sequence length.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace parrot::transformer {

enum class Positional { kRope, kNope, kAlibi, kHardAlibi };

struct PositionalOptions {
  Positional scheme = Positional::kNope;
  int64_t heads = 1;
  int64_t head_dim = 0;          // kRope: dims of each head
  int64_t rotary_dims = 0;       // kRope: leading dims of each head that rotate; even, >= 2
  double rotary_base = 10000;    // kRope
  std::vector<int64_t> windows;  // kHardAlibi: one per head; 0 = unbounded
};

// ALiBi's head slopes 2^(-8h/H) for h = 1..H, for any H (no power-of-two interpolation).
std::vector<double> alibi_slopes(int64_t heads);

// The paper's Hard-ALiBi heads: the first floor(H/2) heads (at least one) see windows 1, 2, ...;
// the rest are unbounded.
std::vector<int64_t> default_windows(int64_t heads);

// Dims of a head that RoPE rotates: floor(head_dim * fraction) (as GPT-NeoX), rounded down to
// even because dims rotate in pairs. May be 0; callers reject that.
int64_t rotary_dims(int64_t head_dim, double fraction);

// [H or 1, length, length] float bias added to attention scores, row = query i, column = key j:
// -inf where j > i (causal) or outside a Hard-ALiBi window, -slope_h * (i - j) for ALiBi, else 0.
torch::Tensor attention_bias(const PositionalOptions& options, int64_t length,
                             torch::Device device);

// Rotary tables for positions 0..length-1 over the whole head, so that the rotation, and its
// gradient (the inverse rotation), is three elementwise kernels (no narrow or cat, a few
// microseconds each on a GPU):
//   rotated = x * cos + x[..., partner] * sin
// On the first rotary_dims, cos and sin hold the angles position * base^(-2i/rotary_dims),
// duplicated across the two halves (GPT-NeoX rotate_half: partner swaps the halves, sin is
// negated on the first); past rotary_dims, cos = 1 and sin = 0, so those dims pass through.
struct RotaryTables {
  torch::Tensor cos;      // [length, head_dim]
  torch::Tensor sin;      // [length, head_dim]
  torch::Tensor partner;  // [head_dim], long: the dim each dim is rotated with
};
RotaryTables rotary_tables(int64_t rotary_dims, int64_t head_dim, double base, int64_t length,
                           torch::Device device);

// Rotates x [..., length, head_dim] (queries and keys may be stacked in front); the result has
// x's type.
torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables);

// What every layer of one forward pass shares, built once for the pass's length and device.
struct PositionEncoding {
  torch::Tensor bias;
  bool causal_only = false;  // the bias is the causal mask and nothing else (RoPE, NoPE)
  RotaryTables rotary;       // undefined tensors unless kRope
};
PositionEncoding encode_positions(const PositionalOptions& options, int64_t length,
                                  torch::Device device);

}  // namespace parrot::transformer
