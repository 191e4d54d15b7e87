// The CUDA selective scan as a LibTorch function: what selective_scan() runs for CUDA tensors
// when parrot is built with it (PARROT_SELECTIVE_SCAN_CUDA: nvcc present and LibTorch with CUDA).
#pragma once

#include <torch/types.h>

namespace parrot::mamba {

// The function of selective_scan.hpp, differentiable, on one CUDA device. u, delta, B and C are
// all float or all bfloat16 (y and their gradients come in the same type); A and D are float or
// bfloat16. Arithmetic and state are float. At most 128 states. Any layout; empty sizes are fine.
torch::Tensor selective_scan_cuda(const torch::Tensor& u, const torch::Tensor& delta,
                                  const torch::Tensor& A, const torch::Tensor& B,
                                  const torch::Tensor& C, const torch::Tensor& D);

// selective_scan_softplus() (selective_scan.hpp) in the same kernels, which make the step sizes
// as they load dt: delta is never stored. dt of u's type; dt_bias [channels], float or bfloat16.
torch::Tensor selective_scan_softplus_cuda(const torch::Tensor& u, const torch::Tensor& dt,
                                           const torch::Tensor& dt_bias, const torch::Tensor& A,
                                           const torch::Tensor& B, const torch::Tensor& C,
                                           const torch::Tensor& D);

// Whether selective_scan_cuda and selective_scan_softplus_cuda take these inputs' devices, types
// and state size (shapes are checked when it runs, with errors that say what is wrong).
bool selective_scan_cuda_applies(const torch::Tensor& u, const torch::Tensor& delta,
                                 const torch::Tensor& A, const torch::Tensor& B,
                                 const torch::Tensor& C, const torch::Tensor& D);

}  // namespace parrot::mamba
