// The `lstm` architecture: token embedding, a stacked LSTM and an output projection (the paper's
// LSTM baseline). Exposed here so tests can build it without loading the plugin.
#pragma once

#include <parrot/model.hpp>
#include <parrot/params.hpp>

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>

namespace parrot::lstm {

struct LstmOptions {
  int64_t vocabulary_size = 0;
  int64_t layers = 2;
  int64_t width = 64;
  double dropout = 0.0;  // between stacked layers, while training
};

// Every layer has the embedding's width, so the state is one (h, c) pair of that width per layer.
// The recurrence is causal by construction and runs at any length.
class Lstm : public Model {
 public:
  explicit Lstm(LstmOptions options);

  torch::Tensor forward(const torch::Tensor& tokens) override;

  // h and c of every layer in fp32: fixed, whatever the context length.
  int64_t state_bits(int64_t context_length) const override;

  const LstmOptions& options() const { return options_; }

  torch::nn::Embedding embedding{nullptr};
  torch::nn::LSTM recurrence{nullptr};
  torch::nn::Linear output{nullptr};

 private:
  LstmOptions options_;
};

Schema schema();

// Validates every parameter (errors name the key) and builds the model on the CPU.
std::shared_ptr<Model> make(const Params& params, int64_t vocabulary_size);

}  // namespace parrot::lstm
