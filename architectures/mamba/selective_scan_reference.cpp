// The selective scan written step by step over time with LibTorch ops: the definition the tests
// trust. Autograd differentiates it; it is slow (a few ops per time step) but plainly correct.

#include "selective_scan.hpp"

#include <torch/torch.h>

#include <vector>

namespace parrot::mamba {

torch::Tensor selective_scan_reference(const torch::Tensor& u, const torch::Tensor& delta,
                                       const torch::Tensor& A, const torch::Tensor& B,
                                       const torch::Tensor& C, const torch::Tensor& D) {
  const int64_t length = u.size(2);
  // h: [batch, channels, state], from zero; the first step promotes it to the inputs' type.
  auto h = torch::zeros({u.size(0), u.size(1), A.size(1)}, u.options());
  std::vector<torch::Tensor> ys;
  ys.reserve(length);
  for (int64_t t = 0; t < length; ++t) {
    const auto delta_t = delta.select(2, t).unsqueeze(-1);  // [batch, channels, 1]
    const auto u_t = u.select(2, t).unsqueeze(-1);          // [batch, channels, 1]
    const auto B_t = B.select(2, t).unsqueeze(1);           // [batch, 1, state]
    const auto C_t = C.select(2, t).unsqueeze(1);           // [batch, 1, state]
    h = torch::exp(delta_t * A) * h + delta_t * u_t * B_t;
    ys.push_back((h * C_t).sum(-1));  // [batch, channels]
  }
  return torch::stack(ys, 2) + D.unsqueeze(-1) * u;
}

}  // namespace parrot::mamba
