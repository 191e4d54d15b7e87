// The qkv projection as queries, keys and values per head, queries and keys rotated where the
// scheme is RoPE: one CUDA kernel each way in builds that have it (rotary_cuda.hpp), LibTorch
// views and apply_rotary elsewhere.
#pragma once

#include "positional.hpp"

#include <torch/types.h>

#include <cstdint>

namespace parrot::transformer {

struct QueryKeyValue {
  torch::Tensor query, key, value;  // [batch, heads, length, head_dim] each
};

// projected: [batch, length, 3 * heads * head_dim], queries, keys and values in that order, each
// heads * head_dim wide. `rotary` undefined (NoPE, ALiBi, Hard-ALiBi): no rotation.
QueryKeyValue split_heads(const torch::Tensor& projected, int64_t heads,
                          const RotaryTables& rotary);

}  // namespace parrot::transformer
