// The `transformer` architecture: a GPT-NeoX-style decoder (the paper's Transformers) with a
// choice of positional scheme. Exposed here so tests can build it without loading the plugin.
#pragma once

#include <parrot/model.hpp>
#include <parrot/params.hpp>

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>

#include "positional.hpp"

namespace parrot::transformer {

struct TransformerOptions {
  int64_t vocabulary_size = 0;
  int64_t layers = 2;
  int64_t d_model = 64;
  int64_t heads = 4;
  int64_t mlp_ratio = 4;
  bool parallel_residual = true;
  PositionalOptions positional;  // its heads equal `heads`
};

// Embedding, `layers` blocks, final LayerNorm, untied output projection. No position table, so
// any length runs; the positional scheme lives entirely in the attention bias and rotary tables.
class Transformer : public Model {
 public:
  explicit Transformer(TransformerOptions options);

  torch::Tensor forward(const torch::Tensor& tokens) override;

  // The fp32 KV cache: a key and a value of width d_model per layer and position.
  int64_t state_bits(int64_t context_length) const override;

  const TransformerOptions& options() const { return options_; }

  torch::nn::Embedding embedding{nullptr};
  torch::nn::ModuleList blocks;
  torch::nn::LayerNorm final_norm{nullptr};
  torch::nn::Linear output{nullptr};

 private:
  TransformerOptions options_;
};

Schema schema();

// Validates every parameter (errors name the key) and builds the model on the CPU.
std::shared_ptr<Model> make(const Params& params, int64_t vocabulary_size);

}  // namespace parrot::transformer
