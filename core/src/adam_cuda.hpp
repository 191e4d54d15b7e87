// parrot's CUDA Adam and AdamW update (adam_cuda_kernel.cu) for tensors: what the fused optimizer
// (optimizer.cpp) runs where parrot is built with it (PARROT_ADAM_CUDA: nvcc present and LibTorch
// with CUDA).
#pragma once

#include <torch/types.h>

#include <optional>
#include <vector>

namespace parrot {

struct AdamHyperparameters {
  double beta1, beta2, eps, weight_decay;
  bool decoupled_decay;  // AdamW's decay of the weights, else Adam's L2 term in the gradient
};

// One step of Adam (or AdamW) for every parameter, as torch::optim::Adam (AdamW) takes it without
// amsgrad: params, grads, exp_avgs and exp_avg_sqs are float CUDA tensors on one device, the
// i-th of each the same size and contiguous; steps[i] the i-th parameter's step count, a float
// scalar on that device that already counts this step; learning_rate a float scalar there. Where
// `divisor` (a float scalar there) is given, every gradient is read divided by it; the gradients
// are left as they are. `casts` is empty or has one tensor a parameter: undefined, or a
// contiguous bfloat16 tensor of its size that gets the updated parameter, as a cast would make
// it. The parameters' and casts' version counters move, as an in-place operation's would.
void adam_cuda_update(const std::vector<torch::Tensor>& params,
                      const std::vector<torch::Tensor>& grads,
                      const std::vector<torch::Tensor>& exp_avgs,
                      const std::vector<torch::Tensor>& exp_avg_sqs,
                      const std::vector<torch::Tensor>& casts,
                      const std::vector<torch::Tensor>& steps, const torch::Tensor& learning_rate,
                      const std::optional<torch::Tensor>& divisor,
                      const AdamHyperparameters& hyperparameters);

}  // namespace parrot
