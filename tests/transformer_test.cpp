// Tests of the transformer architecture: shapes at any length, causality, the positional schemes
// (ALiBi slopes, RoPE's relative positions, Hard-ALiBi windows), parameter errors and cost.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <parrot/error.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "attention.hpp"
#include "positional.hpp"
#include "qkv_heads.hpp"
#include "test_support.hpp"
#include "transformer.hpp"

namespace parrot::transformer {
namespace {

using namespace std::string_literals;

constexpr int64_t kVocabulary = 11;
const std::vector<std::string> kSchemes = {"rope", "nope", "alibi", "hard_alibi"};

Params params_with(const std::map<std::string, Value>& overrides) {
  return test::params_with(schema(), overrides, "test (transformer)");
}

// A small model in eval mode; emplace leaves the caller's overrides in place.
std::shared_ptr<Model> tiny(const std::string& positional,
                            std::map<std::string, Value> overrides = {}) {
  overrides.emplace("positional", positional);
  overrides.emplace("layers", int64_t{2});
  overrides.emplace("d_model", int64_t{16});
  overrides.emplace("heads", int64_t{4});
  overrides.emplace("mlp_ratio", int64_t{2});
  if (positional == "rope") overrides.emplace("rotary_fraction", 0.5);
  auto model = make(params_with(overrides), kVocabulary);
  model->eval();
  return model;
}

torch::Tensor random_tokens(int64_t batch, int64_t length) {
  return torch::randint(kVocabulary, {batch, length}, torch::kLong);
}

// Logits of a copy of `tokens` with position `at` changed in every row.
torch::Tensor logits_with_change(Model& model, torch::Tensor tokens, int64_t at) {
  tokens = tokens.clone();
  tokens.select(1, at).add_(1).remainder_(kVocabulary);
  return model.forward(tokens);
}

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::allclose(a, b, /*rtol=*/0.0, /*atol=*/1e-6);
}

TEST(TransformerTest, OutputIsBatchByLengthByVocabularyAtAnyLength) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  for (const auto& scheme : kSchemes) {
    auto model = tiny(scheme, {{"layers", int64_t{1}}});
    for (const int64_t length : {1, 7, 600}) {
      const auto logits = model->forward(random_tokens(2, length));
      EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, length, kVocabulary}))
          << scheme << " at length " << length;
      EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << scheme << " at " << length;
    }
  }
}

TEST(TransformerTest, LogitsDependOnlyOnThePast) {
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  const int64_t length = 12;
  const int64_t changed = 6;
  for (const auto& scheme : kSchemes) {
    for (const bool parallel : {true, false}) {
      auto model = tiny(scheme, {{"parallel_residual", parallel}});
      const auto tokens = random_tokens(3, length);
      const auto before = model->forward(tokens);
      const auto after = logits_with_change(*model, tokens, changed);
      const auto where = scheme + (parallel ? " parallel" : " sequential");
      EXPECT_TRUE(same(before.narrow(1, 0, changed), after.narrow(1, 0, changed))) << where;
      EXPECT_FALSE(same(before.select(1, changed), after.select(1, changed))) << where;
    }
  }
}

TEST(TransformerTest, ResidualModesDiffer) {
  torch::NoGradGuard no_grad;
  const auto tokens = torch::tensor({{1, 4, 2, 8, 5, 7}}, torch::kLong);
  torch::manual_seed(8);
  const auto parallel = tiny("nope", {{"parallel_residual", true}})->forward(tokens);
  torch::manual_seed(8);  // the same weights, wired the other way
  const auto sequential = tiny("nope", {{"parallel_residual", false}})->forward(tokens);
  EXPECT_FALSE(torch::allclose(parallel, sequential, 1e-4, 1e-5));
}

// Attention as its definition reads, from the module's own weights: softmax(q k^T / sqrt(d) +
// bias) v. The module may compute it another way (LibTorch 2.x's fused kernels) but not differ.
// In its output and in its weights' gradients.
TEST(TransformerTest, AttentionIsSoftmaxOfScaledScoresPlusTheBias) {
  torch::manual_seed(11);
  const int64_t d_model = 16, heads = 4, head_dim = 4, batch = 2, length = 9;
  for (const Positional scheme :
       {Positional::kRope, Positional::kNope, Positional::kAlibi, Positional::kHardAlibi}) {
    PositionalOptions options;
    options.scheme = scheme;
    options.heads = heads;
    options.head_dim = head_dim;
    options.rotary_dims = 2;
    options.windows = {1, 3, 0, 2};
    CausalSelfAttention attention(d_model, heads);
    const auto x = torch::randn({batch, length, d_model});
    const auto positions = encode_positions(options, length, torch::kCPU);
    const auto output_weights = torch::randn({batch, length, d_model});
    const auto gradients = [&](const torch::Tensor& output) {
      attention->zero_grad();
      (output * output_weights).sum().backward();
      std::vector<torch::Tensor> result;
      for (const auto& parameter : attention->parameters())
        result.push_back(parameter.grad().clone());
      return result;
    };

    const auto qkv = attention->qkv(x).view({batch, length, 3, heads, head_dim});
    auto q = qkv.select(2, 0).transpose(1, 2), k = qkv.select(2, 1).transpose(1, 2);
    const auto v = qkv.select(2, 2).transpose(1, 2);
    if (scheme == Positional::kRope) {
      q = apply_rotary(q, positions.rotary);
      k = apply_rotary(k, positions.rotary);
    }
    const auto weights = torch::softmax(
        q.matmul(k.transpose(-2, -1)) / std::sqrt(double(head_dim)) + positions.bias, -1);
    const auto expected =
        attention->out(weights.matmul(v).transpose(1, 2).reshape({batch, length, d_model}));
    const auto expected_gradients = gradients(expected);
    const auto output = attention->forward(x, positions);
    EXPECT_TRUE(torch::allclose(output, expected, 1e-5, 1e-6))
        << "scheme " << static_cast<int>(scheme);
    const auto actual_gradients = gradients(output);
    for (size_t i = 0; i < actual_gradients.size(); ++i)
      EXPECT_TRUE(torch::allclose(actual_gradients[i], expected_gradients[i], 1e-4, 1e-6))
          << "scheme " << static_cast<int>(scheme) << ", parameter " << i;
  }
}

TEST(TransformerTest, HardAlibiHeadsSeeOnlyTheirWindow) {
  torch::manual_seed(2);
  torch::NoGradGuard no_grad;
  const int64_t length = 10;
  // Reach per layer is the widest window minus one, so 1 layer sees back 2 and 2 layers 4.
  for (const int64_t layers : {1, 2}) {
    const int64_t reach = 2 * layers;
    auto model =
        tiny("hard_alibi",
             {{"layers", layers}, {"heads", int64_t{2}}, {"windows", std::vector<int64_t>{1, 3}}});
    const auto tokens = random_tokens(2, length);
    const auto before = model->forward(tokens);
    for (int64_t changed = 0; changed < length; ++changed) {
      const auto after = logits_with_change(*model, tokens, changed);
      for (int64_t position = changed; position < length; ++position) {
        const bool sees = position - changed <= reach;
        EXPECT_EQ(!same(before.select(1, position), after.select(1, position)), sees)
            << layers << " layers, token " << changed << " changed, logits at " << position;
      }
    }
  }
}

TEST(TransformerTest, DefaultHardAlibiKeepsUnboundedHeads) {
  torch::manual_seed(3);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(default_windows(16),
            (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(default_windows(3), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(default_windows(1), (std::vector<int64_t>{1}));

  auto model = tiny("hard_alibi", {{"layers", int64_t{1}}});  // windows 1, 2, 0, 0
  const auto tokens = random_tokens(2, 12);
  const auto before = model->forward(tokens);
  const auto after = logits_with_change(*model, tokens, 0);
  EXPECT_FALSE(same(before.select(1, 11), after.select(1, 11)));
}

// Without positions, one causal layer treats its past as a set: swapping two early tokens leaves
// the last logits alone. Each positional scheme must break that (Hard-ALiBi's unbounded heads
// are NoPE, and its windows do not reach back that far, so it keeps it).
TEST(TransformerTest, PositionalSchemesBreakPermutationInvariance) {
  torch::manual_seed(4);
  torch::NoGradGuard no_grad;
  const std::map<std::string, bool> invariant = {
      {"rope", false}, {"nope", true}, {"alibi", false}, {"hard_alibi", true}};
  for (const auto& [scheme, expected] : invariant) {
    auto model = tiny(scheme, {{"layers", int64_t{1}}});
    const auto tokens = torch::tensor({{1, 2, 3, 4, 5, 6, 7, 8}}, torch::kLong);
    const auto swapped = torch::tensor({{2, 1, 3, 4, 5, 6, 7, 8}}, torch::kLong);
    const auto last = [&](const torch::Tensor& t) { return model->forward(t).select(1, 7); };
    EXPECT_EQ(torch::allclose(last(tokens), last(swapped), 1e-5, 1e-5), expected) << scheme;
  }
}

TEST(TransformerTest, AlibiSlopesAndBias) {
  for (const int64_t heads : {1, 3, 4, 6, 16}) {
    const auto slopes = alibi_slopes(heads);
    ASSERT_EQ(static_cast<int64_t>(slopes.size()), heads);
    for (int64_t h = 1; h <= heads; ++h)
      EXPECT_DOUBLE_EQ(slopes[h - 1], std::pow(2.0, -8.0 * h / heads)) << heads << " heads";
  }

  PositionalOptions options;
  options.scheme = Positional::kAlibi;
  options.heads = 3;
  const int64_t length = 5;
  const auto bias = attention_bias(options, length, torch::kCPU);
  ASSERT_EQ(bias.sizes(), (std::vector<int64_t>{3, length, length}));
  const auto slopes = alibi_slopes(3);
  for (int64_t h = 0; h < 3; ++h)
    for (int64_t i = 0; i < length; ++i)
      for (int64_t j = 0; j < length; ++j) {
        const float value = bias[h][i][j].item<float>();
        if (j > i)
          EXPECT_TRUE(std::isinf(value) && value < 0) << h << " " << i << " " << j;
        else
          EXPECT_FLOAT_EQ(value, static_cast<float>(-slopes[h] * (i - j)));
      }
}

TEST(TransformerTest, CausalAndWindowedBias) {
  const int64_t length = 6;
  PositionalOptions nope;
  const auto causal = attention_bias(nope, length, torch::kCPU);
  ASSERT_EQ(causal.sizes(), (std::vector<int64_t>{1, length, length}));

  PositionalOptions hard;
  hard.scheme = Positional::kHardAlibi;
  hard.heads = 3;
  hard.windows = {1, 3, 0};
  const auto windowed = attention_bias(hard, length, torch::kCPU);
  ASSERT_EQ(windowed.sizes(), (std::vector<int64_t>{3, length, length}));

  for (int64_t i = 0; i < length; ++i)
    for (int64_t j = 0; j < length; ++j) {
      EXPECT_EQ(std::isinf(causal[0][i][j].item<float>()), j > i);
      for (int64_t h = 0; h < 3; ++h) {
        const int64_t window = hard.windows[h];
        const bool visible = j <= i && (window == 0 || i - j < window);
        const float value = windowed[h][i][j].item<float>();
        EXPECT_EQ(value, visible ? 0.0f : -std::numeric_limits<float>::infinity())
            << "head " << h << " query " << i << " key " << j;
      }
    }
}

TEST(TransformerTest, RotaryDims) {
  EXPECT_EQ(rotary_dims(64, 0.25), 16);
  EXPECT_EQ(rotary_dims(10, 0.25), 2);
  EXPECT_EQ(rotary_dims(12, 0.25), 2);
  EXPECT_EQ(rotary_dims(4, 0.25), 0);
  EXPECT_EQ(rotary_dims(8, 1.0), 8);
}

TEST(TransformerTest, RotaryScoresDependOnlyOnRelativePosition) {
  torch::manual_seed(5);
  const int64_t head_dim = 8;
  const int64_t length = 40;
  const auto tables =
      rotary_tables(/*rotary_dims=*/4, head_dim, /*base=*/10000.0, length, torch::kCPU);
  const auto query = torch::randn({head_dim});
  const auto key = torch::randn({head_dim});
  const auto rotated_query = apply_rotary(query.expand({length, head_dim}), tables);
  const auto rotated_key = apply_rotary(key.expand({length, head_dim}), tables);
  const auto score = [&](int64_t m, int64_t n) {
    return torch::dot(rotated_query[m], rotated_key[n]).item<double>();
  };

  for (const auto& [m, n] : std::vector<std::pair<int64_t, int64_t>>{{3, 1}, {7, 7}, {2, 9}})
    for (const int64_t shift : {1, 5, 30})
      EXPECT_NEAR(score(m, n), score(m + shift, n + shift), 1e-4) << m << " " << n << " " << shift;
  EXPECT_GT(std::abs(score(3, 1) - score(3, 2)), 1e-3);  // position does matter

  // Dims past rotary_dims pass through; rotation keeps norms; position 0 is the identity.
  EXPECT_TRUE(torch::equal(rotated_query.narrow(-1, 4, 4)[17], query.narrow(0, 4, 4)));
  EXPECT_NEAR(rotated_query[23].norm().item<double>(), query.norm().item<double>(), 1e-5);
  EXPECT_TRUE(torch::allclose(rotated_query[0], query));
}

// The tables' rotation is GPT-NeoX's, written out: the leading dims split in two halves (x1, x2)
// become (x1 cos - x2 sin, x2 cos + x1 sin) at angles position * base^(-2i/rotary_dims); the rest
// pass through.
TEST(TransformerTest, RotaryIsGptNeoxRotateHalfOnTheLeadingDims) {
  torch::manual_seed(3);
  const int64_t rotary = 4, half = 2, head_dim = 10, length = 7;
  const double base = 10000.0;
  const auto x = torch::randn({2, 3, length, head_dim});
  const auto frequency = torch::pow(base, -torch::arange(0, rotary, 2).to(torch::kFloat) / rotary);
  const auto angles = torch::arange(length).to(torch::kFloat).unsqueeze(1) * frequency;
  const auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  const auto expected =
      torch::cat({x1 * angles.cos() - x2 * angles.sin(), x2 * angles.cos() + x1 * angles.sin(),
                  x.narrow(-1, rotary, head_dim - rotary)},
                 -1);
  const auto tables = rotary_tables(rotary, head_dim, base, length, torch::kCPU);
  EXPECT_TRUE(torch::allclose(apply_rotary(x, tables), expected, 1e-5, 1e-6));
}

// split_heads takes the projection's thirds as queries, keys and values, head by head, rotates
// the first two with RoPE, and leaves them alone without; empty batches and sequences included.
TEST(TransformerTest, SplitHeadsCutsTheProjectionIntoRotatedHeads) {
  torch::manual_seed(13);
  const int64_t heads = 3, head_dim = 4;
  for (const auto& [batch, length] :
       std::vector<std::pair<int64_t, int64_t>>{{2, 5}, {0, 5}, {2, 0}}) {
    const auto projected = torch::randn({batch, length, 3 * heads * head_dim});
    const auto part = [&](int64_t i) {
      return projected.view({batch, length, 3, heads, head_dim}).select(2, i).transpose(1, 2);
    };
    const auto tables = rotary_tables(2, head_dim, 10000.0, length, torch::kCPU);
    const auto rotated = split_heads(projected, heads, tables);
    EXPECT_TRUE(torch::equal(rotated.query, apply_rotary(part(0), tables)));
    EXPECT_TRUE(torch::equal(rotated.key, apply_rotary(part(1), tables)));
    EXPECT_TRUE(torch::equal(rotated.value, part(2)));
    const auto plain = split_heads(projected, heads, RotaryTables{});
    EXPECT_TRUE(torch::equal(plain.query, part(0)));
    EXPECT_TRUE(torch::equal(plain.key, part(1)));
    EXPECT_TRUE(torch::equal(plain.value, part(2)));
    EXPECT_EQ(plain.query.sizes(), torch::IntArrayRef({batch, heads, length, head_dim}));
  }
}

// apply_rotary's own backward (the inverse rotation) gives what autograd derives from the
// formula, and rotating keeps the input's type for the gradient too.
TEST(TransformerTest, RotaryGradientIsWhatAutogradDerivesFromTheFormula) {
  torch::manual_seed(11);
  const int64_t rotary = 6, head_dim = 10, length = 9;
  const auto tables = rotary_tables(rotary, head_dim, 10000.0, length, torch::kCPU);
  const auto x = torch::randn({2, 3, length, head_dim}, torch::kDouble).requires_grad_();
  const auto upstream = torch::randn({2, 3, length, head_dim}, torch::kDouble);

  const auto gradient = torch::autograd::grad({apply_rotary(x, tables)}, {x}, {upstream})[0];
  const auto cos = tables.cos.to(torch::kDouble), sin = tables.sin.to(torch::kDouble);
  const auto formula = torch::addcmul(x * cos, x.index_select(-1, tables.partner), sin);
  const auto expected = torch::autograd::grad({formula}, {x}, {upstream})[0];
  EXPECT_TRUE(torch::allclose(gradient, expected, 1e-12, 1e-12));
  EXPECT_FALSE(torch::allclose(gradient, upstream));  // the rotation is not the identity

  const auto half = torch::randn({length, head_dim}).to(torch::kBFloat16).requires_grad_();
  const auto rotated = apply_rotary(half, tables);
  EXPECT_EQ(rotated.scalar_type(), torch::kBFloat16);
  rotated.sum().backward();
  EXPECT_EQ(half.grad().scalar_type(), torch::kBFloat16);
}

// In the model, RoPE must rotate both queries and keys: then shifting every position by the
// same amount leaves attention unchanged, while dropping the rotation changes it.
TEST(TransformerTest, RopeAttentionSeesOnlyRelativePositions) {
  torch::manual_seed(7);
  torch::NoGradGuard no_grad;
  CausalSelfAttention attention(/*d_model=*/16, /*heads=*/2);
  PositionalOptions rope;
  rope.scheme = Positional::kRope;
  rope.heads = 2;
  rope.head_dim = 8;
  rope.rotary_dims = 4;
  const int64_t length = 6;
  const auto x = torch::randn({2, length, 16});
  const auto at = [&](int64_t offset) {
    PositionEncoding positions;
    positions.bias = attention_bias(rope, length, torch::kCPU);
    const auto tables =
        rotary_tables(rope.rotary_dims, rope.head_dim, 10000.0, offset + length, torch::kCPU);
    positions.rotary = {tables.cos.narrow(0, offset, length), tables.sin.narrow(0, offset, length),
                        tables.partner};
    return attention(x, positions);
  };
  EXPECT_TRUE(torch::allclose(at(0), at(9), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(at(0), at(250), 1e-4, 1e-5));

  PositionEncoding unrotated;
  unrotated.bias = attention_bias(rope, length, torch::kCPU);
  EXPECT_FALSE(torch::allclose(at(0), attention(x, unrotated), 1e-4, 1e-5));
}

TEST(TransformerTest, BadParametersNameTheirKey) {
  const auto expect_error = [](const std::map<std::string, Value>& overrides,
                               const std::string& key) {
    try {
      make(params_with(overrides), kVocabulary);
      ADD_FAILURE() << "no error for " << key;
    } catch (const InputError& error) {
      EXPECT_NE(std::string(error.what()).find(key), std::string::npos) << error.what();
    }
  };
  expect_error({{"d_model", int64_t{64}}, {"heads", int64_t{3}}}, "heads");
  expect_error({{"layers", int64_t{0}}}, "layers");
  expect_error({{"mlp_ratio", int64_t{0}}}, "mlp_ratio");
  expect_error({{"positional", "hard_alibi"s}, {"windows", std::vector<int64_t>{1, 2}}}, "windows");
  expect_error({{"positional", "hard_alibi"s}, {"windows", std::vector<int64_t>{1, 2, -1, 0}}},
               "windows");
  expect_error({{"positional", "alibi"s}, {"windows", std::vector<int64_t>{1, 2, 0, 0}}},
               "windows");
  expect_error({{"positional", "rope"s}, {"rotary_fraction", 0.0}}, "rotary_fraction");
  expect_error({{"positional", "rope"s}, {"rotary_fraction", 1.5}}, "rotary_fraction");
  // head_dim 2: a quarter of it is no pair to rotate.
  expect_error({{"positional", "rope"s}, {"d_model", int64_t{8}}, {"heads", int64_t{4}}},
               "rotary_fraction");
  expect_error({{"positional", "rope"s}, {"rotary_base", 1.0}}, "rotary_base");
}

TEST(TransformerTest, FactoryReadsEveryParameter) {
  for (const auto& scheme : kSchemes) {
    const auto params = params_with({{"positional", scheme}, {"layers", int64_t{1}}});
    make(params, kVocabulary);
    EXPECT_TRUE(params.unread().empty()) << scheme << ": " << params.unread().front();
  }
}

// Every parameter is registered (so parameters() and to(device) see it) and gets a gradient.
TEST(TransformerTest, ParametersAreRegisteredAndTrained) {
  torch::manual_seed(6);
  for (const auto& scheme : kSchemes) {
    auto model = tiny(scheme);
    const int64_t d = 16, hidden = 2 * d, layers = 2;
    const int64_t per_layer =
        2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * hidden + hidden) + (hidden * d + d);
    const int64_t expected =
        kVocabulary * d + layers * per_layer + 2 * d + d * kVocabulary + kVocabulary;
    int64_t count = 0;
    for (const auto& parameter : model->parameters()) count += parameter.numel();
    EXPECT_EQ(count, expected) << scheme;

    model->train();
    model->forward(random_tokens(2, 5)).pow(2).sum().backward();
    for (const auto& item : model->named_parameters())
      EXPECT_TRUE(item.value().grad().defined() &&
                  item.value().grad().abs().sum().item<double>() > 0)
          << scheme << ": no gradient reaches " << item.key();
  }
}

TEST(TransformerTest, StateBitsAreAnFp32KvCache) {
  const auto model = tiny("nope");  // 2 layers, d_model 16
  EXPECT_EQ(model->state_bits(0), 0);
  for (const int64_t length : {1, 50, 1000})
    EXPECT_EQ(model->state_bits(length), 2 * 2 * 16 * length * 32);
  EXPECT_EQ(model->state_bits(600), 2 * model->state_bits(300));
}

TEST(TransformerTest, PaperConfigurationHasAbout151MParameters) {
  const auto model = make(params_with({{"layers", int64_t{12}},
                                       {"d_model", int64_t{1024}},
                                       {"heads", int64_t{16}},
                                       {"positional", "hard_alibi"s}}),
                          /*vocabulary_size=*/30);
  int64_t count = 0;
  for (const auto& parameter : model->parameters()) count += parameter.numel();
  EXPECT_GT(count, 150'000'000);
  EXPECT_LT(count, 160'000'000);
}

}  // namespace
}  // namespace parrot::transformer
