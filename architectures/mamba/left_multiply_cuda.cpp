// The CUDA product of left_multiply_cuda_kernel.cu as a LibTorch function: check the inputs and
// hand the kernel pointers on the current CUDA stream, with a workspace for the partial products.

#include "left_multiply_cuda.hpp"
#include "left_multiply_cuda_kernel.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>
#include <parrot/cuda_dtype_of.hpp>

namespace parrot::mamba {
namespace {

void check(cudaError_t error) {
  TORCH_CHECK(error == cudaSuccess,
              "left_multiply_cuda: the kernel failed: ", cudaGetErrorString(error));
}

cuda_product::Sizes sizes_of(const torch::Tensor& weight, const torch::Tensor& x) {
  return {x.size(0), weight.size(0), weight.size(1), x.size(2)};
}

}  // namespace

torch::Tensor left_multiply_cuda(const torch::Tensor& weight, const torch::Tensor& x) {
  TORCH_CHECK(weight.dim() == 2, "left_multiply_cuda: weight must be [rows, depth], got ",
              weight.sizes());
  TORCH_CHECK(x.dim() == 3, "left_multiply_cuda: x must be [batch, depth, columns], got ",
              x.sizes());
  TORCH_CHECK(x.size(1) == weight.size(1), "left_multiply_cuda: x's depth (dimension 1) must be ",
              "the weight's ", weight.size(1), ", got x ", x.sizes());
  TORCH_CHECK(x.is_cuda(), "left_multiply_cuda: CUDA tensors only, x is on ", x.device());
  TORCH_CHECK(weight.device() == x.device(), "left_multiply_cuda: the weight must be on x's ",
              x.device(), ", got ", weight.device());
  TORCH_CHECK(parrot::cuda::float_or_bfloat16(x) && weight.scalar_type() == x.scalar_type(),
              "left_multiply_cuda: the weight and x must be both float or both bfloat16, got ",
              weight.scalar_type(), " and ", x.scalar_type());
  const cuda_product::Sizes sizes = sizes_of(weight, x);
  auto out = torch::empty({sizes.batch, sizes.rows, sizes.columns}, x.options());
  if (out.numel() == 0) return out;
  if (sizes.depth == 0) return out.zero_();

  const c10::cuda::CUDAGuard device(x.device());
  // The kernel reads the weight along its rows' index: transposed, which for dt_proj's input
  // gradient (the weight's transpose) copies nothing.
  const auto weight_t = weight.t().contiguous();
  const auto x_rows = x.contiguous();
  const auto dtype = parrot::cuda::dtype_of(x);
  cuda_product::Plan plan{};
  check(cuda_product::plan(sizes, dtype, &plan));
  const auto partials =
      torch::empty({cuda_product::partial_floats(sizes, plan)}, x.options().dtype(torch::kFloat));
  check(cuda_product::left_multiply(dtype, weight_t.data_ptr(), x_rows.data_ptr(), sizes, plan,
                                    partials.data_ptr<float>(), out.data_ptr(),
                                    c10::cuda::getCurrentCUDAStream()));
  return out;
}

bool left_multiply_cuda_applies(const torch::Tensor& weight, const torch::Tensor& x) {
  if (!x.is_cuda() || !parrot::cuda::float_or_bfloat16(x) ||
      weight.scalar_type() != x.scalar_type() || weight.dim() != 2 || x.dim() != 3 ||
      4 * weight.size(0) > weight.size(1) || x.numel() == 0 || weight.numel() == 0)
    return false;
  const c10::cuda::CUDAGuard device(x.device());
  cuda_product::Plan plan{};
  check(cuda_product::plan(sizes_of(weight, x), parrot::cuda::dtype_of(x), &plan));
  return plan.slices > 1;
}

}  // namespace parrot::mamba
