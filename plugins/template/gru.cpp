// A template architecture plugin: a GRU language model over token ids, in one file.
// Copy this folder, rename the component, and replace the model with yours.

#include <parrot/plugin.hpp>

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

namespace {

class GruModel : public parrot::Model {
 public:
  GruModel(int64_t vocabulary_size, int64_t width, int64_t layers)
      : width_(width), layers_(layers) {
    embedding_ = register_module("embedding", torch::nn::Embedding(vocabulary_size, width));
    gru_ = register_module(
        "gru",
        torch::nn::GRU(torch::nn::GRUOptions(width, width).num_layers(layers).batch_first(true)));
    head_ = register_module("head", torch::nn::Linear(width, vocabulary_size));
  }

  torch::Tensor forward(const torch::Tensor& tokens) override {
    return head_(std::get<0>(gru_(embedding_(tokens))));
  }

  // A recurrent state: one fp32 hidden vector per layer, whatever the length.
  int64_t state_bits(int64_t /*context_length*/) const override { return layers_ * width_ * 32; }

 private:
  int64_t width_, layers_;
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::Linear head_{nullptr};
};

parrot::Schema schema() {
  return {parrot::int_param("width", 64, "hidden size of every layer"),
          parrot::int_param("layers", 1, "stacked GRU layers")};
}

std::shared_ptr<parrot::Model> make(const parrot::Params& params, int64_t vocabulary_size) {
  const int64_t width = params.integer("width");
  const int64_t layers = params.integer("layers");
  if (width < 1) params.fail("width", "must be at least 1");
  if (layers < 1) params.fail("layers", "must be at least 1");
  return std::make_shared<GruModel>(vocabulary_size, width, layers);
}

parrot::Plugin describe() {
  parrot::Plugin plugin{"gru_template", {}, {}};
  plugin.architectures.push_back(
      {"gru_template", "template plugin: a GRU language model", schema(), make});
  return plugin;
}

}  // namespace

PARROT_PLUGIN(describe)
