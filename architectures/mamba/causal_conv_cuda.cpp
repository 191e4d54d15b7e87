// The CUDA causal convolution with SiLU as a LibTorch autograd function: checks the inputs, hands
// the kernels (causal_conv_cuda_kernel.cu) pointers and strides on the current CUDA stream, and
// adds up the filter's per-row gradients.

#include "causal_conv_cuda.hpp"
#include "causal_conv_cuda_kernel.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>
#include <parrot/cuda_dtype_of.hpp>

namespace parrot::mamba {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using parrot::cuda::dtype_of;

cuda_conv::Sizes sizes_of(const torch::Tensor& x, const torch::Tensor& weight) {
  return {x.size(0), x.size(1), x.size(2), weight.size(-1)};
}

cuda_conv::Input input_of(const torch::Tensor& x) {
  return {x.data_ptr(), x.stride(0), x.stride(1)};
}

cuda_conv::Filter filter_of(const torch::Tensor& weight, const torch::Tensor& bias) {
  return {weight.data_ptr<float>(), bias.data_ptr<float>()};
}

void check(cudaError_t error) {
  TORCH_CHECK(error == cudaSuccess,
              "causal_conv_silu_cuda: the kernel failed: ", cudaGetErrorString(error));
}

struct CausalConvSiluFunction : torch::autograd::Function<CausalConvSiluFunction> {
  // x [batch, length, channels], weight [channels, 1, width], bias [channels]: checked by
  // causal_conv_silu_cuda.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& weight_in, const torch::Tensor& bias_in) {
    const c10::cuda::CUDAGuard device(x_in.device());
    const auto x = x_in.stride(2) == 1 ? x_in : x_in.contiguous();
    const auto weight = weight_in.to(torch::kFloat).contiguous();
    const auto bias = bias_in.to(torch::kFloat).contiguous();
    auto u = torch::empty({x.size(0), x.size(2), x.size(1)}, x.options());
    check(cuda_conv::forward(dtype_of(x), input_of(x), filter_of(weight, bias), sizes_of(x, weight),
                             u.data_ptr(), c10::cuda::getCurrentCUDAStream()));
    ctx->save_for_backward({x, weight, bias});
    return u;
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradients) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1], &bias = saved[2];
    const cuda_conv::Sizes sizes = sizes_of(x, weight);
    const c10::cuda::CUDAGuard device(x.device());
    auto gx = torch::empty({sizes.batch, sizes.length, sizes.channels}, x.options());
    const auto floats = x.options().dtype(torch::kFloat);
    if (x.numel() == 0) return {gx, torch::zeros_like(weight), torch::zeros_like(bias)};
    // Unused outputs come as zeros (the default materialize_grads).
    const auto gu = gradients[0].to(x.scalar_type()).contiguous();
    auto partials =
        torch::empty({cuda_conv::partial_sums(sizes), sizes.channels * (sizes.width + 1)}, floats);
    check(cuda_conv::backward(dtype_of(x), input_of(x), filter_of(weight, bias), sizes,
                              gu.data_ptr(), gx.data_ptr(), partials.data_ptr<float>(),
                              c10::cuda::getCurrentCUDAStream()));
    const auto sums = partials.sum(0);
    const int64_t weights = sizes.channels * sizes.width;
    return {gx, sums.narrow(0, 0, weights).view_as(weight),
            sums.narrow(0, weights, sizes.channels)};
  }
};

}  // namespace

torch::Tensor causal_conv_silu_cuda(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias) {
  TORCH_CHECK(x.dim() == 3, "causal_conv_silu_cuda: x must be [batch, length, channels], got ",
              x.sizes());
  const int64_t channels = x.size(2);
  TORCH_CHECK(weight.dim() == 3 && weight.size(0) == channels && weight.size(1) == 1 &&
                  weight.size(2) >= 1 && weight.size(2) <= cuda_conv::kMaxWidth,
              "causal_conv_silu_cuda: the filter must be [", channels, ", 1, 1 to ",
              cuda_conv::kMaxWidth, "], got ", weight.sizes());
  TORCH_CHECK(!bias.defined() || bias.sizes() == torch::IntArrayRef({channels}),
              "causal_conv_silu_cuda: the bias must be [", channels, "], got ", bias.sizes());
  for (const auto* t : {&weight, &bias})
    TORCH_CHECK(!t->defined() || t->device() == x.device(),
                "causal_conv_silu_cuda: the filter must be on x's ", x.device(), ", got ",
                t->device());
  // An autograd function's inputs must all be defined: no bias is a bias of zeros.
  return CausalConvSiluFunction::apply(
      x, weight, bias.defined() ? bias : torch::zeros({channels}, weight.options()));
}

bool causal_conv_cuda_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  return x.is_cuda() && parrot::cuda::float_or_bfloat16(x) &&
         weight.size(-1) <= cuda_conv::kMaxWidth;
}

}  // namespace parrot::mamba
