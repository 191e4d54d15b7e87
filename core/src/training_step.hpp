// One optimizer step, as training and `suite bench` run it: the batch into device buffers, the
// forward pass and masked loss, backward, gradient clipping, the update. Nothing in it waits for
// the device. On CUDA, once a few eager steps have created the gradients and the optimizer
// state, the whole step is captured in a CUDA graph and replayed: one launch per step instead of
// hundreds, which is what bounds small batches like the paper's 8 x 220.
#pragma once

#include "batching.hpp"
#include "suite.hpp"

#include <parrot/model.hpp>

#include <torch/optim/optimizer.h>

#include <memory>
#include <string>

namespace parrot {

class CudaGraph;

class TrainingStep {
 public:
  // `graph`: capture and replay on CUDA when the build and the optimizer allow it.
  TrainingStep(Model& model, torch::optim::Optimizer& optimizer, const TrainSettings& train,
               const torch::Device& device, bool graph);
  ~TrainingStep();
  TrainingStep(const TrainingStep&) = delete;
  TrainingStep& operator=(const TrainingStep&) = delete;

  // Trains on `batch` (host tensors, of the same shape every step) at `learning_rate`. Returns
  // the step's loss, on the device: reading it waits for the step. With a graph, the returned
  // tensor is overwritten by the next step.
  torch::Tensor run(const Batch& batch, double learning_rate);

  // "graph", "eager", or "eager (why not graph)": for logs and benchmarks.
  const std::string& mode() const { return mode_; }

 private:
  torch::Tensor forward_backward_update();

  Model& model_;
  torch::optim::Optimizer& optimizer_;
  const TrainSettings& train_;
  torch::Device device_;
  std::vector<torch::Tensor> parameters_;
  torch::Tensor inputs_, targets_, mask_;  // the batch on the device, reused every step
  int64_t eager_steps_ = 0;
  bool graph_wanted_ = false;
  std::string mode_;
  std::unique_ptr<CudaGraph> graph_;
  torch::Tensor graph_loss_;
};

// Mean cross-entropy over the targets that count.
torch::Tensor masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                   const torch::Tensor& mask);

// What to divide all gradients by so that their global 2-norm is at most `max_norm`:
// (norm + 1e-6) / max_norm, at least 1, as torch::nn::utils::clip_grad_norm_. A device scalar,
// never read back to the host.
torch::Tensor gradient_clip_divisor(const std::vector<torch::Tensor>& grads, double max_norm);

// Scales all gradients together by the divisor's inverse.
void clip_gradient_norm(const std::vector<torch::Tensor>& parameters, double max_norm);

}  // namespace parrot
