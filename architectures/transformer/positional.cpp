// The positional schemes: additive attention biases and rotary embeddings, computed on demand
// for the length at hand so that evaluation is never capped by a precomputed table.

#include "positional.hpp"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace parrot::transformer {

std::vector<double> alibi_slopes(int64_t heads) {
  std::vector<double> slopes;
  for (int64_t h = 1; h <= heads; ++h)
    slopes.push_back(std::pow(2.0, -8.0 * static_cast<double>(h) / static_cast<double>(heads)));
  return slopes;
}

std::vector<int64_t> default_windows(int64_t heads) {
  const int64_t windowed = std::max<int64_t>(1, heads / 2);
  std::vector<int64_t> windows(heads, 0);
  for (int64_t h = 0; h < windowed; ++h) windows[h] = h + 1;
  return windows;
}

int64_t rotary_dims(int64_t head_dim, double fraction) {
  const auto dims = static_cast<int64_t>(static_cast<double>(head_dim) * fraction);
  return dims - dims % 2;
}

namespace {

// One value per head as a [heads, 1, 1] tensor, filled on the device itself: a copy from host
// memory could not be captured in a CUDA graph.
template <class Value>
torch::Tensor per_head(const std::vector<Value>& values, const torch::TensorOptions& options) {
  std::vector<torch::Tensor> heads;
  for (const Value value : values) heads.push_back(torch::full({1, 1, 1}, value, options));
  return torch::cat(heads);
}

}  // namespace

torch::Tensor attention_bias(const PositionalOptions& options, int64_t length,
                             torch::Device device) {
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  const auto positions =
      torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(device));
  const auto distance = positions.unsqueeze(1) - positions.unsqueeze(0);  // i - j
  const auto future = distance < 0;
  const float minus_infinity = -std::numeric_limits<float>::infinity();

  switch (options.scheme) {
    case Positional::kRope:
    case Positional::kNope:
      return torch::zeros({1, length, length}, float_options).masked_fill(future, minus_infinity);
    case Positional::kAlibi: {
      const auto slopes = per_head(alibi_slopes(options.heads), float_options);
      return (-slopes * distance.to(torch::kFloat)).masked_fill(future, minus_infinity);
    }
    case Positional::kHardAlibi: {
      const auto windows =
          per_head(options.windows, torch::TensorOptions().dtype(torch::kLong).device(device));
      const auto outside = (windows > 0).logical_and(distance >= windows);
      return torch::zeros({options.heads, length, length}, float_options)
          .masked_fill(outside.logical_or(future), minus_infinity);
    }
  }
  TORCH_CHECK(false, "attention_bias: unknown positional scheme");
}

RotaryTables rotary_tables(int64_t rotary_dims, int64_t head_dim, double base, int64_t length,
                           torch::Device device) {
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(device);
  const int64_t half = rotary_dims / 2;
  const int64_t passing = head_dim - rotary_dims;
  const auto inverse_frequency =
      torch::pow(base, -torch::arange(0, rotary_dims, 2, float_options) / rotary_dims);
  const auto angles =
      torch::arange(length, float_options).unsqueeze(1) * inverse_frequency.unsqueeze(0);
  const auto ones = torch::ones({length, passing}, float_options);
  const auto zeros = torch::zeros({length, passing}, float_options);
  const auto cos = angles.cos();
  const auto sin = angles.sin();
  return {torch::cat({cos, cos, ones}, -1), torch::cat({-sin, sin, zeros}, -1),
          torch::cat({torch::arange(half, rotary_dims, long_options),
                      torch::arange(0, half, long_options),
                      torch::arange(rotary_dims, head_dim, long_options)})};
}

namespace {

// x * cos + x[..., partner] * sin * direction; direction -1 rotates back.
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                     const torch::Tensor& partner, double direction) {
  return torch::addcmul(x * cos, x.index_select(-1, partner), sin, direction);
}

// The rotation as one autograd node. Its gradient is the inverse rotation (the angles negated,
// which negates sin alone), a gather like the forward, where index_select's own backward would
// zero a buffer and scatter into it with atomics: fewer kernels, and the same sums on every run.
class Rotation : public torch::autograd::Function<Rotation> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& x,
                               const torch::Tensor& cos, const torch::Tensor& sin,
                               const torch::Tensor& partner) {
    // In x's type: under autocast the queries and keys stay bf16 instead of being promoted to
    // float by the tables and cast back for attention. The gradient has that type too, so the
    // backward reuses these casts.
    const auto typed_cos = cos.to(x.scalar_type());
    const auto typed_sin = sin.to(x.scalar_type());
    context->save_for_backward({typed_cos, typed_sin, partner});
    return rotate(x, typed_cos, typed_sin, partner, 1.0);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                               torch::autograd::tensor_list gradients) {
    const auto saved = context->get_saved_variables();
    return {rotate(gradients[0], saved[0], saved[1], saved[2], -1.0), {}, {}, {}};
  }
};

}  // namespace

torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables) {
  return Rotation::apply(x, tables.cos, tables.sin, tables.partner);
}

PositionEncoding encode_positions(const PositionalOptions& options, int64_t length,
                                  torch::Device device) {
  PositionEncoding encoding;
  encoding.bias = attention_bias(options, length, device);
  encoding.causal_only = options.scheme == Positional::kRope || options.scheme == Positional::kNope;
  if (options.scheme == Positional::kRope)
    encoding.rotary =
        rotary_tables(options.rotary_dims, options.head_dim, options.rotary_base, length, device);
  return encoding;
}

}  // namespace parrot::transformer
