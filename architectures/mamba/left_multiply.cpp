// left_multiply() as an autograd function whose forward and input gradient are the same product,
// which picks the CUDA kernel or a batched matrix product by shape.

#include "left_multiply.hpp"

#include <parrot/weight_cast.hpp>

#include <torch/torch.h>

#ifdef PARROT_LEFT_MULTIPLY_CUDA
#include "left_multiply_cuda.hpp"
#endif

namespace parrot::mamba {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// weight [rows, depth] in x's type times x [batch, depth, columns], per batch row.
torch::Tensor product(const torch::Tensor& weight, const torch::Tensor& x) {
#ifdef PARROT_LEFT_MULTIPLY_CUDA
  if (left_multiply_cuda_applies(weight, x)) return left_multiply_cuda(weight, x);
#endif
  // An expanded weight is a stride-0 batch, which bmm takes without copying it.
  return torch::bmm(weight.expand({x.size(0), -1, -1}), x);
}

// The weight's gradient: the sum over batch rows of gout[b] x[b]^T.
torch::Tensor weight_gradient(const torch::Tensor& gout, const torch::Tensor& x) {
  return torch::bmm(gout, x.transpose(1, 2)).sum(0);
}

struct LeftMultiplyFunction : torch::autograd::Function<LeftMultiplyFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& weight,
                               const torch::Tensor& x) {
    const auto cast = cast_weight(weight, x.scalar_type());  // kept from step to step
    ctx->save_for_backward({cast, x});
    ctx->saved_data["weight_type"] = static_cast<int64_t>(weight.scalar_type());
    return product(cast, x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradients) {
    const auto saved = ctx->get_saved_variables();
    const auto &weight = saved[0], &x = saved[1];
    const auto& gout = gradients[0];
    torch::Tensor gweight, gx;
    if (ctx->needs_input_grad(0)) {
      const auto type = static_cast<torch::ScalarType>(ctx->saved_data["weight_type"].toInt());
      gweight = weight_gradient(gout, x).to(type);
    }
    if (ctx->needs_input_grad(1)) gx = product(weight.t(), gout);
    return {gweight, gx};
  }
};

}  // namespace

torch::Tensor left_multiply(const torch::Tensor& weight, const torch::Tensor& x) {
  TORCH_CHECK(weight.dim() == 2, "left_multiply: weight must be [rows, depth], got ",
              weight.sizes());
  TORCH_CHECK(x.dim() == 3 && x.size(1) == weight.size(1),
              "left_multiply: x must be [batch, depth = ", weight.size(1), ", columns], got ",
              x.sizes());
  return LeftMultiplyFunction::apply(weight, x);
}

}  // namespace parrot::mamba
