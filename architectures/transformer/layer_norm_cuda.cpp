// The CUDA layer norm as a LibTorch autograd function: checks the inputs and hands the kernels
// (layer_norm_cuda_kernel.cu) pointers and sizes on the current CUDA stream.

#include "layer_norm_cuda.hpp"
#include "layer_norm_cuda_kernel.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>
#include <parrot/cuda_dtype_of.hpp>

namespace parrot::transformer {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using parrot::cuda::dtype_of;
using parrot::cuda::float_or_bfloat16;

void check(cudaError_t error) {
  TORCH_CHECK(error == cudaSuccess,
              "layer_norm_cuda: the kernel failed: ", cudaGetErrorString(error));
}

cuda_norm::Rows rows_of(const torch::Tensor& x, const torch::Tensor& weight,
                        const torch::Tensor& bias) {
  const int64_t width = x.size(-1);
  return {dtype_of(x),
          x.data_ptr(),
          weight.data_ptr<float>(),
          bias.data_ptr<float>(),
          width == 0 ? 0 : x.numel() / width,
          width};
}

struct LayerNormFunction : torch::autograd::Function<LayerNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& weight_in, const torch::Tensor& bias_in,
                               double eps, torch::ScalarType y_type) {
    const c10::cuda::CUDAGuard device(x_in.device());
    const auto x = x_in.contiguous(), weight = weight_in.contiguous(), bias = bias_in.contiguous();
    const auto in = rows_of(x, weight, bias);
    auto y = torch::empty(x.sizes(), x.options().dtype(y_type));
    const auto statistics = x.options().dtype(torch::kFloat);
    auto mean = torch::empty({in.rows}, statistics), rstd = torch::empty({in.rows}, statistics);
    check(cuda_norm::forward(in, static_cast<float>(eps), dtype_of(y), y.data_ptr(),
                             mean.data_ptr<float>(), rstd.data_ptr<float>(),
                             c10::cuda::getCurrentCUDAStream()));
    ctx->save_for_backward({x, weight, bias, mean, rstd});
    ctx->saved_data["y_type"] = y_type;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradients) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1], &bias = saved[2], &mean = saved[3],
               &rstd = saved[4];
    const c10::cuda::CUDAGuard device(x.device());
    const auto in = rows_of(x, weight, bias);
    if (in.rows == 0)
      return {torch::empty_like(x), torch::zeros_like(weight), torch::zeros_like(bias), {}, {}};
    const auto y_type = ctx->saved_data["y_type"].toScalarType();
    const auto gy = gradients[0].to(y_type).contiguous();
    auto gx = torch::empty_like(x);
    const int64_t parts = cuda_norm::backward_parts(in.rows);
    // The weight's and the bias's parts in one buffer, which one sum reduces.
    auto parts_of_both = torch::empty({2, parts, in.width}, weight.options());
    check(cuda_norm::backward(in, mean.data_ptr<float>(), rstd.data_ptr<float>(), dtype_of(gy),
                              gy.data_ptr(), gx.data_ptr(), parts_of_both[0].data_ptr<float>(),
                              parts_of_both[1].data_ptr<float>(),
                              c10::cuda::getCurrentCUDAStream()));
    const auto sums = parts_of_both.sum(1);
    return {gx, sums[0], sums[1], {}, {}};
  }
};

}  // namespace

torch::Tensor layer_norm_cuda(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, double eps, torch::ScalarType y_type) {
  TORCH_CHECK(x.dim() >= 1, "layer_norm_cuda: x must have a dimension to normalize over");
  const int64_t width = x.size(-1);
  TORCH_CHECK(width >= 1 && width <= cuda_norm::kMaxWidth, "layer_norm_cuda: rows must be 1 to ",
              cuda_norm::kMaxWidth, " wide, got ", width);
  TORCH_CHECK(x.is_cuda(), "layer_norm_cuda: CUDA tensors only, x is on ", x.device());
  TORCH_CHECK(float_or_bfloat16(x.scalar_type()),
              "layer_norm_cuda: x must be float or bfloat16, got ", x.scalar_type());
  TORCH_CHECK(float_or_bfloat16(y_type),
              "layer_norm_cuda: the result must be float or bfloat16, "
              "not ",
              y_type);
  for (const auto* p : {&weight, &bias}) {
    TORCH_CHECK(p->sizes() == torch::IntArrayRef({width}) && p->scalar_type() == torch::kFloat &&
                    p->device() == x.device(),
                "layer_norm_cuda: weight and bias must be float [", width, "] on x's ", x.device(),
                ", got ", p->scalar_type(), " ", p->sizes(), " on ", p->device());
  }
  return LayerNormFunction::apply(x, weight, bias, eps, y_type);
}

bool layer_norm_cuda_applies(const torch::nn::LayerNorm& norm, const torch::Tensor& x) {
  const auto& options = norm->options;
  return x.is_cuda() && float_or_bfloat16(x.scalar_type()) && x.dim() >= 1 &&
         options.normalized_shape().size() == 1 && options.elementwise_affine() &&
         x.size(-1) >= 1 && x.size(-1) <= cuda_norm::kMaxWidth &&
         norm->weight.scalar_type() == torch::kFloat;
}

}  // namespace parrot::transformer
