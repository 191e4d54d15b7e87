// Picks how the projection becomes heads: the CUDA kernel where RoPE rotates CUDA tensors of a
// type it takes, views and apply_rotary everywhere else.

#include "qkv_heads.hpp"

#ifdef PARROT_ROTARY_CUDA
#include "rotary_cuda.hpp"
#endif

namespace parrot::transformer {

QueryKeyValue split_heads(const torch::Tensor& projected, int64_t heads,
                          const RotaryTables& rotary) {
  const bool rotates = rotary.cos.defined();
#ifdef PARROT_ROTARY_CUDA
  if (rotates && rotary_cuda_applies(projected))
    return split_heads_rotated_cuda(projected, heads, rotary);
#endif
  const int64_t batch = projected.size(0), length = projected.size(1);
  const int64_t head_dim = projected.size(2) / (3 * heads);
  // [batch, length, 3 * d_model] -> queries and keys [2, batch, heads, length, head_dim] and
  // values [batch, heads, length, head_dim]. Split and unbind rather than narrow and index: their
  // gradients are one concatenation each, where an index's gradient is a zeroed tensor of the
  // whole projection with the part copied in, and those are then added up.
  const auto parts = projected.view({batch, length, 3, heads, head_dim}).split({2, 1}, 2);
  const auto query_key = parts[0].permute({2, 0, 3, 1, 4});
  // Queries and keys rotate together: one set of kernels instead of two.
  const auto rotated = rotates ? apply_rotary(query_key, rotary).unbind(0) : query_key.unbind(0);
  return {rotated[0], rotated[1], parts[1].squeeze(2).transpose(1, 2)};
}

}  // namespace parrot::transformer
