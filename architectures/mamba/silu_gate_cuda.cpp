// The CUDA output gate as a LibTorch autograd function: checks the inputs and hands the kernels
// (silu_gate_cuda_kernel.cu) pointers and strides on the current CUDA stream.

#include "silu_gate_cuda.hpp"
#include "silu_gate_cuda_kernel.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>
#include <parrot/cuda_dtype_of.hpp>

namespace parrot::mamba {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using parrot::cuda::dtype_of;
using parrot::cuda::float_or_bfloat16;

cuda_gate::Sizes sizes_of(const torch::Tensor& y) { return {y.size(0), y.size(2), y.size(1)}; }

cuda_gate::Gate gate_of(const torch::Tensor& z) { return {z.data_ptr(), z.stride(0), z.stride(1)}; }

void check(cudaError_t error) {
  TORCH_CHECK(error == cudaSuccess,
              "silu_gate_cuda: the kernel failed: ", cudaGetErrorString(error));
}

struct SiluGateFunction : torch::autograd::Function<SiluGateFunction> {
  // y [batch, channels, length], z [batch, length, channels]: checked by silu_gate_cuda.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& y_in,
                               const torch::Tensor& z_in) {
    const c10::cuda::CUDAGuard device(y_in.device());
    const auto y = y_in.contiguous();
    // The kernels read z along channels at any batch and position strides: the in-projection's
    // half is taken as it is.
    const auto z = z_in.stride(2) == 1 ? z_in : z_in.contiguous();
    const cuda_gate::Sizes sizes = sizes_of(y);
    auto out = torch::empty({sizes.batch, sizes.length, sizes.channels}, y.options());
    check(cuda_gate::forward(dtype_of(y), y.data_ptr(), gate_of(z), sizes, out.data_ptr(),
                             c10::cuda::getCurrentCUDAStream()));
    ctx->save_for_backward({y, z});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradients) {
    const auto saved = ctx->get_saved_variables();
    const auto &y = saved[0], &z = saved[1];
    const cuda_gate::Sizes sizes = sizes_of(y);
    const c10::cuda::CUDAGuard device(y.device());
    auto gy = torch::empty({sizes.batch, sizes.channels, sizes.length}, y.options());
    auto gz = torch::empty({sizes.batch, sizes.length, sizes.channels}, y.options());
    if (y.numel() == 0) return {gy, gz};
    // Unused outputs come as zeros (the default materialize_grads).
    const auto gout = gradients[0].to(y.scalar_type()).contiguous();
    check(cuda_gate::backward(dtype_of(y), y.data_ptr(), gate_of(z), sizes, gout.data_ptr(),
                              gy.data_ptr(), gz.data_ptr(), c10::cuda::getCurrentCUDAStream()));
    return {gy, gz};
  }
};

}  // namespace

torch::Tensor silu_gate_cuda(const torch::Tensor& y, const torch::Tensor& z) {
  TORCH_CHECK(y.dim() == 3, "silu_gate_cuda: y must be [batch, channels, length], got ", y.sizes());
  const int64_t batch = y.size(0), channels = y.size(1), length = y.size(2);
  TORCH_CHECK(z.sizes() == torch::IntArrayRef({batch, length, channels}),
              "silu_gate_cuda: z must be [batch, length, channels] = [", batch, ", ", length, ", ",
              channels, "], got ", z.sizes());
  TORCH_CHECK(y.is_cuda(), "silu_gate_cuda: CUDA tensors only, y is on ", y.device());
  TORCH_CHECK(z.device() == y.device(), "silu_gate_cuda: z must be on y's ", y.device(), ", got ",
              z.device());
  TORCH_CHECK(float_or_bfloat16(y), "silu_gate_cuda: y must be float or bfloat16, got ",
              y.scalar_type());
  TORCH_CHECK(z.scalar_type() == y.scalar_type(), "silu_gate_cuda: z must have y's type ",
              y.scalar_type(), ", got ", z.scalar_type());
  return SiluGateFunction::apply(y, z);
}

bool silu_gate_cuda_applies(const torch::Tensor& y, const torch::Tensor& z) {
  return y.is_cuda() && float_or_bfloat16(y) && z.scalar_type() == y.scalar_type();
}

}  // namespace parrot::mamba
