// Mamba's output gate, from the scan's layout to the out-projection's.
#pragma once

#include <torch/types.h>

namespace parrot::mamba {

// out[b, t, c] = y[b, c, t] * silu(z[b, t, c]).
// y [batch, channels, length] (the scan's output) and z [batch, length, channels] (the
// in-projection's second half) in any layout; out [batch, length, channels], contiguous, for the
// out-projection. The CUDA kernel where it applies (silu_gate_cuda.hpp), LibTorch's elementwise
// ops everywhere else.
torch::Tensor silu_gate(const torch::Tensor& y, const torch::Tensor& z);

}  // namespace parrot::mamba
