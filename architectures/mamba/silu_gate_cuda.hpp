// Mamba's output gate as a LibTorch function on CUDA: what silu_gate() runs for CUDA tensors when
// parrot is built with it (PARROT_SILU_GATE_CUDA: nvcc present and LibTorch with CUDA).
#pragma once

#include <torch/types.h>

namespace parrot::mamba {

// silu_gate() (silu_gate.hpp), differentiable in y and z, in one kernel each way. y
// [batch, channels, length] and z [batch, length, channels], both float or both bfloat16 (out and
// the gradients come in that type), any layout; arithmetic in float. Empty sizes are fine.
torch::Tensor silu_gate_cuda(const torch::Tensor& y, const torch::Tensor& z);

// Whether silu_gate_cuda takes y's device and y's and z's types (shapes and z's device are
// checked when it runs, with errors that say what is wrong).
bool silu_gate_cuda_applies(const torch::Tensor& y, const torch::Tensor& z);

}  // namespace parrot::mamba
