// The LSTM model, its parameter schema and the factory that checks parameters against it.

#include "lstm.hpp"

#include <parrot/linear.hpp>

#include <torch/torch.h>

namespace parrot::lstm {

Lstm::Lstm(LstmOptions options) : options_(std::move(options)) {
  const int64_t width = options_.width;
  embedding = register_module("embedding", torch::nn::Embedding(options_.vocabulary_size, width));
  recurrence = register_module("recurrence", torch::nn::LSTM(torch::nn::LSTMOptions(width, width)
                                                                 .num_layers(options_.layers)
                                                                 .dropout(options_.dropout)
                                                                 .batch_first(true)));
  output = register_module("output", torch::nn::Linear(width, options_.vocabulary_size));
}

torch::Tensor Lstm::forward(const torch::Tensor& tokens) {
  TORCH_CHECK(tokens.dim() == 2, "lstm: tokens must be [batch, length], got ", tokens.sizes());
  // Every sequence starts from a zero state; the final (h, c) is not needed for training or
  // scoring.
  return linear(output, std::get<0>(recurrence(embedding(tokens))));
}

int64_t Lstm::state_bits(int64_t /*context_length*/) const {
  return options_.layers * 2 * options_.width * 32;
}

Schema schema() {
  return {
      int_param("layers", 2, "number of stacked LSTM layers"),
      int_param("width", 64, "width of the embedding and of every LSTM layer's h and c"),
      float_param("dropout", 0.0, "dropout between stacked LSTM layers while training, in [0, 1)"),
  };
}

std::shared_ptr<Model> make(const Params& params, int64_t vocabulary_size) {
  LstmOptions options;
  options.vocabulary_size = vocabulary_size;
  options.layers = params.integer_at_least("layers", 1);
  options.width = params.integer_at_least("width", 1);
  options.dropout = params.real("dropout");
  if (!(options.dropout >= 0.0 && options.dropout < 1.0))
    params.fail("dropout", "must be in [0, 1)");
  return std::make_shared<Lstm>(std::move(options));
}

}  // namespace parrot::lstm
