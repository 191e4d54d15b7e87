// The product of Mamba's narrow projections, x_proj and dt_proj, in the scan's layout.
#pragma once

#include <torch/types.h>

namespace parrot::mamba {

// weight [rows, depth] times x [batch, depth, columns], one product per batch row:
// [batch, rows, columns] in x's type, the weight cast to it as autocast would. The result keeps
// x's channels-by-length layout, which the scan reads, where a Linear on x.transpose(1, 2) would
// copy x into [batch, length, channels] first and the result back. Differentiable in both.
// Products with a long sum into few rows (x_proj's forward, dt_proj's input gradient) run on
// the CUDA kernel where it applies (left_multiply_cuda.hpp), everything else as batched matrix
// products.
torch::Tensor left_multiply(const torch::Tensor& weight, const torch::Tensor& x);

}  // namespace parrot::mamba
