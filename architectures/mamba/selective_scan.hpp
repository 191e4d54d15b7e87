// The selective scan of Mamba v1 behind one interface: a reference built from LibTorch ops
// (clear, step by step, used by tests), a hand-written CPU kernel (fast, the default on CPU) and,
// in CUDA builds, a CUDA kernel (selective_scan_cuda.hpp, the default on CUDA).
#pragma once

#include <torch/types.h>

namespace parrot::mamba {

// For every batch b, channel d and state n, with h_{-1} = 0:
//   h_t[n] = exp(delta_t * A[d, n]) * h_{t-1}[n] + delta_t * B_t[n] * u_t
//   y_t    = sum_n C_t[n] * h_t[n] + D[d] * u_t
// Shapes: u, delta [batch, channels, length]; A [channels, state]; B, C [batch, state, length];
// D [channels]. delta is used as given (the caller applies softplus and the bias). Returns y
// [batch, channels, length]. Differentiable with respect to every input.
torch::Tensor selective_scan_reference(const torch::Tensor& u, const torch::Tensor& delta,
                                       const torch::Tensor& A, const torch::Tensor& B,
                                       const torch::Tensor& C, const torch::Tensor& D);

// The same function, hand-written for CPU: forward and backward parallel over batch x channels,
// the state in local arrays, no per-time-step tensor ops. CPU tensors of float or double only.
torch::Tensor selective_scan_cpu(const torch::Tensor& u, const torch::Tensor& delta,
                                 const torch::Tensor& A, const torch::Tensor& B,
                                 const torch::Tensor& C, const torch::Tensor& D);

// What models call: the fastest implementation for the inputs' device. The CPU kernel on CPU;
// on CUDA, in builds with nvcc and a LibTorch with CUDA, the CUDA kernel
// (selective_scan_cuda.hpp) for float or bfloat16 inputs with up to 128 states; the reference
// for anything else.
torch::Tensor selective_scan(const torch::Tensor& u, const torch::Tensor& delta,
                             const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C,
                             const torch::Tensor& D);

// Mamba's step sizes and the scan in one call:
//   selective_scan(u, softplus(dt + dt_bias[:, None]), A, B, C, D)
// with dt [batch, channels, length], the step-size projection, and dt_bias [channels]. The step
// sizes take u's type, as mamba_ssm's kernel gets them. The CUDA kernel makes them as it loads
// dt, so they are never stored; elsewhere LibTorch's softplus, then selective_scan().
torch::Tensor selective_scan_softplus(const torch::Tensor& u, const torch::Tensor& dt,
                                      const torch::Tensor& dt_bias, const torch::Tensor& A,
                                      const torch::Tensor& B, const torch::Tensor& C,
                                      const torch::Tensor& D);

}  // namespace parrot::mamba
