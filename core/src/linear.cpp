// parrot::linear picks between at::linear and autocast_linear, an autograd function whose weight
// gradient is one matrix product into float.

#include <parrot/autocast.hpp>
#include <parrot/linear.hpp>
#include <parrot/torch_version.hpp>
#include <parrot/weight_cast.hpp>

#include <optional>

namespace parrot {

#if PARROT_TORCH_AT_LEAST(2, 8)
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct AutocastLinearFunction : torch::autograd::Function<AutocastLinearFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight,
                               const std::optional<torch::Tensor>& bias, torch::ScalarType type) {
    // The casts are explicit here; autocast would only repeat them. The weight's and bias's are
    // kept from step to step (parrot/weight_cast.hpp).
    const AutocastGuard no_autocast(c10::DeviceType::CUDA, {false, type});
    const auto x_cast = x.to(type), weight_cast = cast_weight(weight, type);
    ctx->save_for_backward({x_cast, weight_cast});
    ctx->saved_data["x_type"] = x.scalar_type();
    // Backward asks this, not needs_input_grad(2): with that alone the case without a bias
    // failed on LibTorch 2.11.
    ctx->saved_data["bias"] = bias.has_value();
    return torch::linear(x_cast, weight_cast, bias ? cast_weight(*bias, type) : torch::Tensor());
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradients) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1];
    const AutocastGuard no_autocast(c10::DeviceType::CUDA, {false, x.scalar_type()});
    const auto gy = gradients[0].to(x.scalar_type());
    const auto gy_rows = gy.reshape({-1, gy.size(-1)});
    torch::Tensor gx, gweight, gbias;
    if (ctx->needs_input_grad(0))
      gx = torch::matmul(gy, weight).to(ctx->saved_data["x_type"].toScalarType());
    if (ctx->needs_input_grad(1))
      gweight = at::mm(gy_rows.t(), x.reshape({-1, x.size(-1)}), torch::kFloat);
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2))
      gbias = gy_rows.sum(0, /*keepdim=*/false, torch::kFloat);
    return {gx, gweight, gbias, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor autocast_linear(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, torch::ScalarType type) {
  TORCH_CHECK(x.is_cuda(), "autocast_linear: x must be on CUDA, not ", x.device());
  TORCH_CHECK(type == torch::kBFloat16 || type == torch::kHalf,
              "autocast_linear: the product's type must be bfloat16 or half, not ", type);
  // An optional, not an undefined tensor: apply() asks every tensor argument for its device.
  return AutocastLinearFunction::apply(x, weight,
                                       bias.defined() ? std::optional(bias) : std::nullopt, type);
}
#endif

torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  const torch::Tensor& weight = layer->weight;
#if PARROT_TORCH_AT_LEAST(2, 8)
  const AutocastState autocast = autocast_state(c10::DeviceType::CUDA);
  if (autocast.enabled && x.is_cuda() && weight.scalar_type() == torch::kFloat &&
      weight.requires_grad() && at::GradMode::is_enabled() &&
      (autocast.dtype == torch::kBFloat16 || autocast.dtype == torch::kHalf))
    return autocast_linear(x, weight, layer->bias, autocast.dtype);
#endif
  return torch::linear(x, weight, layer->bias);
}

}  // namespace parrot
