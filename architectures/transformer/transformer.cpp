// The Transformer model, its parameter schema and the factory that checks parameters against it.

#include "transformer.hpp"

#include <parrot/linear.hpp>

#include <torch/torch.h>

#include "block.hpp"
#include "layer_norm.hpp"

namespace parrot::transformer {

Transformer::Transformer(TransformerOptions options) : options_(std::move(options)) {
  const int64_t d_model = options_.d_model;
  embedding = register_module("embedding", torch::nn::Embedding(options_.vocabulary_size, d_model));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t layer = 0; layer < options_.layers; ++layer)
    blocks->push_back(
        Block(d_model, options_.heads, options_.mlp_ratio, options_.parallel_residual));
  final_norm =
      register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  output = register_module("output", torch::nn::Linear(d_model, options_.vocabulary_size));

  // GPT-NeoX's initialization: small normal weights, zero biases; LayerNorms keep (1, 0).
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      torch::nn::init::normal_(linear->weight, 0.0, 0.02);
      torch::nn::init::zeros_(linear->bias);
    } else if (auto* table = module->as<torch::nn::Embedding>()) {
      torch::nn::init::normal_(table->weight, 0.0, 0.02);
    }
  }
}

torch::Tensor Transformer::forward(const torch::Tensor& tokens) {
  TORCH_CHECK(tokens.dim() == 2, "transformer: tokens must be [batch, length], got ",
              tokens.sizes());
  // One bias (and one set of rotary tables) per pass, shared by every layer.
  const auto positions = encode_positions(options_.positional, tokens.size(1), tokens.device());
  auto x = embedding(tokens);
  for (const auto& block : *blocks) x = block->as<BlockImpl>()->forward(x, positions);
  return linear(output, layer_norm(final_norm, x));
}

int64_t Transformer::state_bits(int64_t context_length) const {
  return 2 * options_.layers * options_.d_model * context_length * 32;
}

Schema schema() {
  return {
      int_param("layers", 2, "number of Transformer blocks"),
      int_param("d_model", 64, "width of the embedding and the residual stream"),
      int_param("heads", 4, "attention heads per layer; must divide d_model"),
      int_param("mlp_ratio", 4, "MLP hidden width as a multiple of d_model"),
      string_param("positional", "nope",
                   "positional scheme: rotary, none (causal mask only), ALiBi, or Hard-ALiBi",
                   {"rope", "nope", "alibi", "hard_alibi"}),
      float_param("rotary_fraction", 0.25,
                  "rope: fraction of each head's dims that rotate (rounded down to even)"),
      float_param("rotary_base", 10000.0, "rope: base of the rotary frequencies"),
      int_list_param("windows", {},
                     "hard_alibi: per-head window (0 = unbounded); [] = first half of the heads "
                     "get 1, 2, ..., the rest 0"),
      bool_param("parallel_residual", true,
                 "x + attn(ln1 x) + mlp(ln2 x) as GPT-NeoX; false: attention, then MLP"),
  };
}

namespace {

Positional parse_positional(const Params& params) {
  const std::string& name = params.string("positional");
  if (name == "rope") return Positional::kRope;
  if (name == "nope") return Positional::kNope;
  if (name == "alibi") return Positional::kAlibi;
  if (name == "hard_alibi") return Positional::kHardAlibi;
  params.fail("positional", "must be one of rope, nope, alibi, hard_alibi");
}

}  // namespace

std::shared_ptr<Model> make(const Params& params, int64_t vocabulary_size) {
  TransformerOptions options;
  options.vocabulary_size = vocabulary_size;
  options.layers = params.integer_at_least("layers", 1);
  options.d_model = params.integer_at_least("d_model", 1);
  options.heads = params.integer_at_least("heads", 1);
  options.mlp_ratio = params.integer_at_least("mlp_ratio", 1);
  options.parallel_residual = params.boolean("parallel_residual");
  if (options.d_model % options.heads != 0)
    params.fail("heads", "must divide d_model (" + std::to_string(options.d_model) + ")");
  const int64_t head_dim = options.d_model / options.heads;

  PositionalOptions& positional = options.positional;
  positional.scheme = parse_positional(params);
  positional.heads = options.heads;

  const double rotary_fraction = params.real("rotary_fraction");
  if (!(rotary_fraction > 0.0 && rotary_fraction <= 1.0))
    params.fail("rotary_fraction", "must be in (0, 1]");
  if (positional.scheme == Positional::kRope) {
    positional.head_dim = head_dim;
    positional.rotary_dims = rotary_dims(head_dim, rotary_fraction);
    if (positional.rotary_dims < 2)
      params.fail("rotary_fraction", "rotates " + std::to_string(positional.rotary_dims) +
                                         " of the " + std::to_string(head_dim) +
                                         " dims of a head; rope needs at least 2 (raise "
                                         "rotary_fraction or d_model / heads)");
  }
  positional.rotary_base = params.real("rotary_base");
  if (!(positional.rotary_base > 1.0)) params.fail("rotary_base", "must be greater than 1");

  const std::vector<int64_t>& windows = params.int_list("windows");
  if (positional.scheme == Positional::kHardAlibi) {
    if (windows.empty()) {
      positional.windows = default_windows(options.heads);
    } else {
      if (static_cast<int64_t>(windows.size()) != options.heads)
        params.fail("windows", "needs one entry per head (" + std::to_string(options.heads) +
                                   "), got " + std::to_string(windows.size()));
      for (const int64_t window : windows)
        if (window < 0) params.fail("windows", "entries must be >= 0 (0 = unbounded)");
      positional.windows = windows;
    }
  } else if (!windows.empty()) {
    params.fail("windows", "applies only to positional = \"hard_alibi\"");
  }

  return std::make_shared<Transformer>(std::move(options));
}

}  // namespace parrot::transformer
