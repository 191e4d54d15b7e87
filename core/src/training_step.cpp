// The training step, eager or replayed from a CUDA graph.

#include "training_step.hpp"

#include <parrot/torch_version.hpp>
#include "optimizer.hpp"

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include <iostream>
#include <optional>

#ifdef PARROT_TORCH_CUDA
#include "cuda_graph.hpp"
#else
namespace parrot {
class CudaGraph {};  // nothing to capture with in this build
}  // namespace parrot
#endif

namespace parrot {
namespace {

// Eager steps before the capture: the first creates the gradients and the optimizer state,
// the others let lazily initialized libraries (cuBLAS workspaces, autotuners) settle.
constexpr int64_t kStepsBeforeCapture = 3;

std::vector<torch::Tensor> gradients_of(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> grads;
  for (const auto& parameter : parameters)
    if (parameter.grad().defined()) grads.push_back(parameter.grad());
  return grads;
}

// Why the step cannot be captured, or nothing when it can.
std::optional<std::string> why_not_graph(const torch::Device& device, bool graph,
                                         torch::optim::Optimizer& optimizer) {
  if (!device.is_cuda()) return "";  // plain "eager": graphs are a CUDA matter
#ifdef PARROT_TORCH_CUDA
  if (!graph) return " (graphs off)";
  if (!dynamic_cast<DeviceLearningRate*>(&optimizer)) return " (the optimizer is not capturable)";
  return std::nullopt;
#else
  (void)graph, (void)optimizer;
  return " (this build has no CUDA graphs)";
#endif
}

}  // namespace

torch::Tensor masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                   const torch::Tensor& mask) {
  namespace F = torch::nn::functional;
  const torch::Tensor per_token =
      F::cross_entropy(logits.reshape({-1, logits.size(-1)}).to(torch::kFloat),
                       targets.reshape({-1}), F::CrossEntropyFuncOptions().reduction(torch::kNone));
  const torch::Tensor counted = mask.reshape({-1}).to(per_token.dtype());
  return (per_token * counted).sum() / counted.sum().clamp_min(1);
}

torch::Tensor gradient_clip_divisor(const std::vector<torch::Tensor>& grads, double max_norm) {
  // Multi-tensor norms: one per parameter would launch a kernel a tensor.
  const torch::Tensor total = torch::stack(at::_foreach_norm(grads)).norm();
  return ((total + 1e-6) / max_norm).clamp_min(1.0);
}

void clip_gradient_norm(const std::vector<torch::Tensor>& parameters, double max_norm) {
  std::vector<torch::Tensor> grads = gradients_of(parameters);
  if (grads.empty()) return;
  const torch::Tensor scale = gradient_clip_divisor(grads, max_norm).reciprocal();
#if PARROT_TORCH_AT_LEAST(2, 1)
  at::_foreach_mul_(grads, scale);
#else
  for (auto& grad : grads) grad.mul_(scale);  // 1.13 has no foreach product with a tensor
#endif
}

TrainingStep::TrainingStep(Model& model, torch::optim::Optimizer& optimizer,
                           const TrainSettings& train, const torch::Device& device, bool graph)
    : model_(model),
      optimizer_(optimizer),
      train_(train),
      device_(device),
      parameters_(model.parameters()) {
  const auto why_not = why_not_graph(device, graph, optimizer);
  graph_wanted_ = !why_not;
  mode_ = "eager" + why_not.value_or(" (before capture)");
}

TrainingStep::~TrainingStep() = default;

torch::Tensor TrainingStep::forward_backward_update() {
  // No gradients rather than zero ones: backward then writes each gradient once instead of
  // adding it to zeros, and in a graph the gradients captured are the ones every replay writes.
  for (auto& parameter : parameters_) parameter.mutable_grad().reset();
  const torch::Tensor loss = masked_cross_entropy(model_.forward(inputs_), targets_, mask_);
  loss.backward();
  if (train_.grad_clip > 0) {
    if (auto* divides = dynamic_cast<DividesGradients*>(&optimizer_)) {
      if (auto grads = gradients_of(parameters_); !grads.empty())
        divides->divide_next_gradients_by(gradient_clip_divisor(grads, train_.grad_clip));
    } else {
      clip_gradient_norm(parameters_, train_.grad_clip);
    }
  }
  optimizer_.step();
  return loss.detach();
}

torch::Tensor TrainingStep::run(const Batch& batch, double learning_rate) {
  if (!inputs_.defined()) {
    inputs_ = torch::empty_like(batch.inputs, torch::TensorOptions().device(device_));
    targets_ = torch::empty_like(batch.targets, torch::TensorOptions().device(device_));
    mask_ = torch::empty_like(batch.mask, torch::TensorOptions().device(device_));
  }
  TORCH_CHECK(batch.inputs.sizes() == inputs_.sizes(), "a training batch changed shape from ",
              inputs_.sizes(), " to ", batch.inputs.sizes());
  inputs_.copy_(batch.inputs, /*non_blocking=*/true);
  targets_.copy_(batch.targets, /*non_blocking=*/true);
  mask_.copy_(batch.mask, /*non_blocking=*/true);
  for (auto& group : optimizer_.param_groups()) group.options().set_lr(learning_rate);
  if (auto* on_device = dynamic_cast<DeviceLearningRate*>(&optimizer_))
    on_device->sync_learning_rate();

#ifdef PARROT_TORCH_CUDA
  if (graph_) {
    graph_->replay();
    return graph_loss_;
  }
  if (graph_wanted_ && eager_steps_ == kStepsBeforeCapture) {
    graph_wanted_ = false;  // one attempt
    try {
      graph_ = std::make_unique<CudaGraph>([&] { graph_loss_ = forward_backward_update(); });
      mode_ = "graph";
      graph_->replay();
      return graph_loss_;
    } catch (const std::exception& error) {
      graph_.reset();
      mode_ = "eager (capture failed)";
      std::cerr << "parrot: the training step could not be captured in a CUDA graph, so it runs "
                   "eagerly: "
                << error.what() << "\n";
    }
  }
#endif
  ++eager_steps_;
  return forward_backward_update();
}

}  // namespace parrot
