// Launcher of parrot's CUDA Adam and AdamW update (adam_cuda_kernel.cu). Raw device pointers,
// sizes and a stream: nothing from LibTorch, so that nvcc builds it whether or not LibTorch has
// CUDA. adam_cuda.cpp hands it tensors.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace parrot::cuda_adam {

// One parameter and its optimizer state, float and contiguous, numel elements each; `step` is
// the parameter's step count on the device, already counting the step being taken. Where `cast`
// is not null, the updated parameter is also written there in bfloat16, rounded to nearest even
// as a cast rounds it.
struct Tensor {
  float* param;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  const float* step;
  __nv_bfloat16* cast;
  int64_t numel;
};

struct Settings {
  float beta1, beta2, eps, weight_decay;
  bool decoupled_decay;  // AdamW's decay of the weights, else Adam's L2 term in the gradient
};

// One Adam step for each of `count` tensors, as torch::optim::Adam (decoupled_decay false) or
// AdamW (true) takes it, without amsgrad. `learning_rate` is a device float. Where `divisor` (a
// device float) is not null, every gradient is read divided by it; the gradients themselves are
// left as they are. Any count, tensors of any size, zero included; pointers need no alignment.
cudaError_t update(const Tensor* tensors, int64_t count, const Settings& settings,
                   const float* learning_rate, const float* divisor, cudaStream_t stream);

}  // namespace parrot::cuda_adam
