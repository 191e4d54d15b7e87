// Held-out sets and accuracy.

#include "evaluation.hpp"

#include "batching.hpp"

#include <torch/nn/module.h>

#include <algorithm>

namespace parrot {

std::vector<Example> held_out_examples(const Task& task, int64_t length, int64_t count,
                                       uint64_t seed) {
  // A stream of its own per length, apart from the training data's stream 0.
  Rng rng(seed, 0x6576616cULL + static_cast<uint64_t>(length));
  std::vector<Example> examples;
  examples.reserve(count);
  for (int64_t i = 0; i < count; ++i) examples.push_back(task.sample(length, rng));
  return examples;
}

Accuracy evaluate(Model& model, const std::vector<Example>& examples, int64_t pad,
                  int64_t batch_size, const torch::Device& device) {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  Accuracy accuracy;
  for (size_t start = 0; start < examples.size(); start += batch_size) {
    const size_t end = std::min(examples.size(), start + static_cast<size_t>(batch_size));
    const Batch batch = pad_examples({examples.begin() + start, examples.begin() + end}, pad);
    const torch::Tensor targets = batch.targets.to(device);
    const torch::Tensor mask = batch.mask.to(device);
    const torch::Tensor predicted = model.forward(batch.inputs.to(device)).argmax(-1);
    const torch::Tensor right = predicted.eq(targets);
    accuracy.examples += batch.examples;
    accuracy.strings_correct += right.logical_or(mask.logical_not()).all(1).sum().item<int64_t>();
    accuracy.targets += mask.sum().item<int64_t>();
    accuracy.targets_correct += right.logical_and(mask).sum().item<int64_t>();
  }
  model.train(was_training);
  return accuracy;
}

}  // namespace parrot
