// The CUDA head split with RoPE as a LibTorch autograd function: checks the inputs, hands the
// kernel (rotary_cuda_kernel.cu) pointers and strides on the current CUDA stream, forward to
// rotate the projection's queries and keys, backward to rotate their gradients back.

#include "rotary_cuda.hpp"
#include "rotary_cuda_kernel.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>
#include <parrot/cuda_dtype_of.hpp>

namespace parrot::transformer {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using parrot::cuda::dtype_of;

// A [batch, heads, length, head_dim] tensor as the kernel reads it.
cuda_rotary::Heads heads_of(const torch::Tensor& t) {
  return {t.data_ptr(), t.stride(0), t.stride(1), t.stride(2)};
}

// [batch, length, 3, heads, head_dim] as queries, keys and values [batch, heads, length,
// head_dim]: views.
variable_list heads_by_part(const torch::Tensor& by_part) {
  variable_list parts;
  for (int64_t part = 0; part < 3; ++part) parts.push_back(by_part.select(2, part).transpose(1, 2));
  return parts;
}

// `in`: queries, keys and values [batch, heads, length, head_dim], head_dim contiguous.
void rotate(const variable_list& in, const cuda_rotary::Sizes& sizes, const variable_list& tables,
            float direction, const torch::Tensor& out) {
  const cuda_rotary::Heads heads[3] = {heads_of(in[0]), heads_of(in[1]), heads_of(in[2])};
  const cuda_rotary::Rotation rotation{tables[0].data_ptr<float>(), tables[1].data_ptr<float>(),
                                       tables[2].data_ptr<int64_t>()};
  const cudaError_t error =
      cuda_rotary::rotate_heads(dtype_of(out), heads, sizes, rotation, direction, out.data_ptr(),
                                c10::cuda::getCurrentCUDAStream());
  TORCH_CHECK(error == cudaSuccess,
              "split_heads_rotated_cuda: the kernel failed: ", cudaGetErrorString(error));
}

struct RotateHeadsFunction : torch::autograd::Function<RotateHeadsFunction> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& projected_in,
                               const torch::Tensor& cos, const torch::Tensor& sin,
                               const torch::Tensor& partner, int64_t heads) {
    TORCH_CHECK(projected_in.dim() == 3 && heads > 0 && projected_in.size(2) % (3 * heads) == 0,
                "split_heads_rotated_cuda: the projection must be [batch, length, 3 * ", heads,
                " * head_dim], got ", projected_in.sizes());
    const int64_t batch = projected_in.size(0), length = projected_in.size(1);
    const int64_t head_dim = projected_in.size(2) / (3 * heads);
    TORCH_CHECK(cos.sizes() == torch::IntArrayRef({length, head_dim}) &&
                    sin.sizes() == cos.sizes() && partner.sizes() == torch::IntArrayRef({head_dim}),
                "split_heads_rotated_cuda: the rotary tables must be [", length, ", ", head_dim,
                "] and the partners [", head_dim, "], got ", cos.sizes(), ", ", sin.sizes(),
                " and ", partner.sizes());
    for (const auto* t : {&cos, &sin, &partner})
      TORCH_CHECK(t->device() == projected_in.device(),
                  "split_heads_rotated_cuda: the rotary tables must be on the projection's ",
                  projected_in.device(), ", got ", t->device());
    const c10::cuda::CUDAGuard device(projected_in.device());
    const auto projected = projected_in.contiguous();
    const variable_list tables{cos.to(torch::kFloat).contiguous(),
                               sin.to(torch::kFloat).contiguous(),
                               partner.to(torch::kLong).contiguous()};
    const cuda_rotary::Sizes sizes{batch, length, heads, head_dim};
    const auto by_part = projected.view({batch, length, 3, heads, head_dim});
    auto out = torch::empty_like(by_part);
    rotate(heads_by_part(by_part), sizes, tables, 1.0f, out);
    ctx->save_for_backward(tables);
    ctx->saved_data["heads"] = heads;
    return heads_by_part(out);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradients) {
    const auto tables = ctx->get_saved_variables();
    const int64_t heads = ctx->saved_data["heads"].toInt();
    // Unused outputs come as zeros (the default materialize_grads).
    const auto& first = gradients[0];
    const int64_t batch = first.size(0), length = first.size(2), head_dim = first.size(3);
    const c10::cuda::CUDAGuard device(first.device());
    variable_list in;
    for (const auto& gradient : gradients) {
      auto typed = gradient.to(first.scalar_type());
      in.push_back(typed.stride(3) == 1 ? typed : typed.contiguous());
    }
    auto projected = torch::empty({batch, length, 3 * heads * head_dim}, first.options());
    rotate(in, {batch, length, heads, head_dim}, tables, -1.0f, projected);
    return {projected, {}, {}, {}, {}};
  }
};

}  // namespace

QueryKeyValue split_heads_rotated_cuda(const torch::Tensor& projected, int64_t heads,
                                       const RotaryTables& rotary) {
  const auto heads_out =
      RotateHeadsFunction::apply(projected, rotary.cos, rotary.sin, rotary.partner, heads);
  return {heads_out[0], heads_out[1], heads_out[2]};
}

bool rotary_cuda_applies(const torch::Tensor& projected) {
  return projected.is_cuda() && parrot::cuda::float_or_bfloat16(projected);
}

}  // namespace parrot::transformer
