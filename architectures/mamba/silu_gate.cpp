// Picks how the output gate runs: the CUDA kernel where it takes the tensors, LibTorch's
// elementwise ops everywhere else.

#include "silu_gate.hpp"

#include <torch/torch.h>

#ifdef PARROT_SILU_GATE_CUDA
#include "silu_gate_cuda.hpp"
#endif

namespace parrot::mamba {

torch::Tensor silu_gate(const torch::Tensor& y, const torch::Tensor& z) {
#ifdef PARROT_SILU_GATE_CUDA
  if (silu_gate_cuda_applies(y, z)) return silu_gate_cuda(y, z);
#endif
  // The product takes its first factor's layout: silu(z) comes contiguous from the in-projection's
  // strided half, so contiguous() copies nothing there.
  return (torch::silu(z) * y.transpose(1, 2)).contiguous();
}

}  // namespace parrot::mamba
