// Picks the selective scan implementation for the inputs: the hand-written CPU kernel or the
// CUDA kernel (in builds that have it) where they apply, the LibTorch reference everywhere else.

#include "selective_scan.hpp"

#include <torch/torch.h>

#include <initializer_list>

#ifdef PARROT_SELECTIVE_SCAN_CUDA
#include "selective_scan_cuda.hpp"
#endif

namespace parrot::mamba {

namespace {

// The CPU kernel takes one floating type for all six inputs; anything else (mixed types, half
// precision) goes through the reference, which promotes like any LibTorch expression.
bool cpu_kernel_applies(std::initializer_list<const torch::Tensor*> inputs) {
  const auto dtype = (*inputs.begin())->scalar_type();
  if (dtype != torch::kFloat && dtype != torch::kDouble) return false;
  for (const auto* input : inputs)
    if (!input->device().is_cpu() || input->scalar_type() != dtype) return false;
  return true;
}

}  // namespace

torch::Tensor selective_scan(const torch::Tensor& u, const torch::Tensor& delta,
                             const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C,
                             const torch::Tensor& D) {
  if (cpu_kernel_applies({&u, &delta, &A, &B, &C, &D}))
    return selective_scan_cpu(u, delta, A, B, C, D);
#ifdef PARROT_SELECTIVE_SCAN_CUDA
  if (selective_scan_cuda_applies(u, delta, A, B, C, D))
    return selective_scan_cuda(u, delta, A, B, C, D);
#endif
  return selective_scan_reference(u, delta, A, B, C, D);
}

torch::Tensor selective_scan_softplus(const torch::Tensor& u, const torch::Tensor& dt,
                                      const torch::Tensor& dt_bias, const torch::Tensor& A,
                                      const torch::Tensor& B, const torch::Tensor& C,
                                      const torch::Tensor& D) {
#ifdef PARROT_SELECTIVE_SCAN_CUDA
  if (selective_scan_cuda_applies(u, dt, A, B, C, D) && dt_bias.device() == u.device())
    return selective_scan_softplus_cuda(u, dt, dt_bias, A, B, C, D);
#endif
  const auto delta = torch::softplus(dt + dt_bias.unsqueeze(-1)).to(u.scalar_type());
  return selective_scan(u, delta, A, B, C, D);
}

}  // namespace parrot::mamba
