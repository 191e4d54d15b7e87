// The architecture side of the plugin boundary: a LibTorch module over token ids.
// A model never sees a task; it gets the vocabulary size at construction and token ids after.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

namespace parrot {

class Model : public torch::nn::Module {
 public:
  // [batch, time] int64 token ids -> [batch, time, vocabulary] logits. Causal: the logits at t
  // depend only on tokens[:, :t+1]. Any time length works; there is no fixed maximum.
  virtual torch::Tensor forward(const torch::Tensor& tokens) = 0;

  // Bits a model needs at inference to continue a sequence of this length (fp32 values):
  // a KV cache grows with it, a recurrent state does not.
  virtual int64_t state_bits(int64_t context_length) const = 0;

  // Whether the optimizer's weight decay applies to a parameter (its name as named_parameters()
  // gives it). By default matrices and embeddings decay and vectors (biases, norm gains) do not.
  virtual bool decays(const std::string& name, const torch::Tensor& parameter) const {
    return parameter.dim() >= 2;
  }
};

}  // namespace parrot
