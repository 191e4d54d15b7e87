// The optimizers a run trains with: AdamW or Adam, weight decay where the model says. On CUDA
// with a LibTorch of 2.4 or later, the update is a fused multi-tensor kernel, parrot's own where
// it is built with it (adam_cuda.hpp), else LibTorch's: a few launches per parameter group
// instead of several per parameter, and capturable in a CUDA graph. parrot's also writes the
// bfloat16 casts that cast_weight keeps of the weights (parrot/weight_cast.hpp).
#pragma once

#include "suite.hpp"

#include <parrot/model.hpp>

#include <torch/optim/optimizer.h>

#include <memory>

namespace parrot {

// An optimizer whose learning rate lives on the device, so that a captured step reads the rate
// of each replay. `sync_learning_rate` copies the groups' rates there; call it before each step.
class DeviceLearningRate {
 public:
  virtual ~DeviceLearningRate() = default;
  virtual void sync_learning_rate() = 0;
};

// An optimizer that divides the gradients by a device scalar inside its update, so that
// clipping them costs no pass of its own over every gradient. The divisor holds for the next
// step only. The gradients may be left divided or as they were: read them before the step.
class DividesGradients {
 public:
  virtual ~DividesGradients() = default;
  virtual void divide_next_gradients_by(torch::Tensor divisor) = 0;
};

// train.optimizer ("adamw" or "adam"), betas and weight decay from `train`; fused on CUDA where
// available. The result is a DeviceLearningRate and DividesGradients exactly when it is fused.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(Model& model, const TrainSettings& train,
                                                        const torch::Device& device);

}  // namespace parrot
