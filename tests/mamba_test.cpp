// Tests of the mamba architecture: shapes at any length, causality, the causal convolution, the
// output gate, Mamba's initialization, parameter errors, cost (state bits, the paper's size) and
// learning to copy on CPU.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <parrot/autocast.hpp>
#include <parrot/error.hpp>
#include <parrot/recompute.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "causal_conv.hpp"
#include "cpu_runtime.hpp"
#include "left_multiply.hpp"
#include "mamba.hpp"
#include "selective_scan.hpp"
#include "silu_gate.hpp"
#include "suite.hpp"
#include "test_support.hpp"
#include "trainer.hpp"

namespace parrot::mamba {
namespace {

constexpr int64_t kVocabulary = 11;

Params params_with(const std::map<std::string, Value>& overrides) {
  return test::params_with(schema(), overrides, "test (mamba)");
}

// A small model in eval mode; emplace leaves the caller's overrides in place.
std::shared_ptr<Mamba> tiny(std::map<std::string, Value> overrides = {}) {
  overrides.emplace("layers", int64_t{2});
  overrides.emplace("d_model", int64_t{16});
  overrides.emplace("d_state", int64_t{4});
  auto model = std::dynamic_pointer_cast<Mamba>(make(params_with(overrides), kVocabulary));
  model->eval();
  return model;
}

MambaBlockImpl& mixer(Mamba& model, size_t layer) {
  return *model.blocks[layer]->as<ResidualBlockImpl>()->mixer;
}

int64_t parameter_count(const Model& model) {
  int64_t count = 0;
  for (const auto& parameter : model.parameters()) count += parameter.numel();
  return count;
}

torch::Tensor random_tokens(int64_t batch, int64_t length) {
  return torch::randint(kVocabulary, {batch, length}, torch::kLong);
}

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::allclose(a, b, /*rtol=*/0.0, /*atol=*/1e-6);
}

TEST(MambaTest, OutputIsBatchByLengthByVocabularyAtAnyLength) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  auto model = tiny();
  for (const int64_t length : {1, 7, 300}) {
    const auto logits = model->forward(random_tokens(2, length));
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, length, kVocabulary})) << length;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << length;
  }
}

// Changing a token may change the logits from its position on, never before: the convolution's
// padding and the scan must both look only backwards. Tokens at the start, the middle and the end
// are changed, and the change must still show past the convolutions' reach.
TEST(MambaTest, LogitsDependOnlyOnThePast) {
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  auto model = tiny({{"d_conv", int64_t{3}}});
  const int64_t length = 20;
  const auto tokens = random_tokens(3, length);
  const auto before = model->forward(tokens);
  for (const int64_t changed : {0, 1, 9, 19}) {
    auto altered = tokens.clone();
    altered.select(1, changed).add_(1).remainder_(kVocabulary);
    const auto after = model->forward(altered);
    EXPECT_TRUE(same(before.narrow(1, 0, changed), after.narrow(1, 0, changed))) << changed;
    EXPECT_FALSE(same(before.select(1, changed), after.select(1, changed))) << changed;
    // The state carries the change past the convolution's window.
    if (changed + 10 < length)
      EXPECT_FALSE(same(before.select(1, changed + 10), after.select(1, changed + 10))) << changed;
  }
}

TEST(MambaTest, InitializationFollowsMamba) {
  torch::manual_seed(2);
  const double dt_min = 0.01, dt_max = 0.05;
  auto model = tiny({{"d_model", int64_t{64}},
                     {"d_state", int64_t{8}},
                     {"dt_min", dt_min},
                     {"dt_max", dt_max},
                     {"dt_rank", int64_t{9}}});
  for (size_t layer = 0; layer < 2; ++layer) {
    auto& block = mixer(*model, layer);
    const int64_t d_inner = 128;
    // S4D-real: every channel gets A = -(1, 2, ..., d_state).
    const auto expected_A = -torch::arange(1, 9, torch::kFloat).expand({d_inner, 8});
    EXPECT_TRUE(torch::allclose(block.A(), expected_A, 1e-6, 1e-6)) << block.A();
    EXPECT_TRUE(torch::equal(block.D, torch::ones({d_inner})));

    // Initial steps are log-uniform in [dt_min, dt_max]: inside it, and both halves of the log
    // range are populated.
    const auto dt = torch::softplus(block.dt_proj->bias.detach());
    ASSERT_EQ(dt.numel(), d_inner);
    EXPECT_GE(dt.min().item<double>(), dt_min * (1 - 1e-5));
    EXPECT_LE(dt.max().item<double>(), dt_max * (1 + 1e-5));
    const double log_middle = 0.5 * (std::log(dt_min) + std::log(dt_max));
    const auto below = (dt.log() < log_middle).sum().item<int64_t>();
    EXPECT_GT(below, d_inner / 4);
    EXPECT_LT(below, 3 * d_inner / 4);

    const double bound = 1.0 / std::sqrt(9.0);
    EXPECT_LE(block.dt_proj->weight.abs().max().item<double>(), bound);
    EXPECT_GT(block.dt_proj->weight.abs().max().item<double>(), 0.8 * bound);
  }
}

TEST(MambaTest, DtRankDefaultsToCeilOfDModelOver16) {
  EXPECT_EQ(mixer(*tiny({{"d_model", int64_t{40}}}), 0).dt_proj->weight.size(1), 3);
  EXPECT_EQ(mixer(*tiny({{"d_model", int64_t{32}}}), 0).dt_proj->weight.size(1), 2);
  EXPECT_EQ(mixer(*tiny({{"dt_rank", int64_t{5}}}), 0).dt_proj->weight.size(1), 5);
}

TEST(MambaTest, BadParametersNameTheirKey) {
  const auto expect_error = [](const std::map<std::string, Value>& overrides,
                               const std::string& key) {
    try {
      make(params_with(overrides), kVocabulary);
      ADD_FAILURE() << "no error for " << key;
    } catch (const InputError& error) {
      EXPECT_NE(std::string(error.what()).find(key + " ="), std::string::npos) << error.what();
    }
  };
  for (const std::string key : {"d_model", "layers", "d_state", "expand", "d_conv"}) {
    expect_error({{key, int64_t{0}}}, key);
    expect_error({{key, int64_t{-3}}}, key);
  }
  expect_error({{"dt_rank", int64_t{-1}}}, "dt_rank");
  expect_error({{"dt_min", 0.0}}, "dt_min");
  expect_error({{"dt_min", -0.01}}, "dt_min");
  expect_error({{"dt_min", 0.2}, {"dt_max", 0.1}}, "dt_max");
  EXPECT_NO_THROW(make(params_with({{"dt_min", 0.1}, {"dt_max", 0.1}}), kVocabulary));
}

TEST(MambaTest, FactoryReadsEveryParameter) {
  const auto params = params_with({});
  make(params, kVocabulary);
  EXPECT_TRUE(params.unread().empty()) << params.unread().front();
}

// Every parameter is registered (so parameters() and to(device) see it) and gets a gradient.
TEST(MambaTest, ParametersAreRegisteredAndTrained) {
  torch::manual_seed(3);
  auto model = tiny();  // d_model 16, d_state 4, expand 2, d_conv 4, dt_rank 1, 2 layers
  const int64_t d = 16, inner = 32, state = 4, conv = 4, rank = 1, layers = 2;
  const int64_t per_layer = d + d * 2 * inner + (inner * conv + inner) +
                            inner * (rank + 2 * state) + (rank * inner + inner) + inner * state +
                            inner + inner * d;
  EXPECT_EQ(parameter_count(*model), kVocabulary * d + layers * per_layer + d + d * kVocabulary);

  model->train();
  model->forward(random_tokens(2, 9)).pow(2).sum().backward();
  for (const auto& item : model->named_parameters())
    EXPECT_TRUE(item.value().grad().defined() && item.value().grad().abs().sum().item<double>() > 0)
        << "no gradient reaches " << item.key();
}

// Recomputing the blocks in the backward pass changes what is stored, not what is computed:
// the same outputs and gradients, in fp32 and under bf16 autocast.
TEST(MambaTest, RecomputedBlocksGiveTheSameOutputsAndGradients) {
  for (const bool bf16 : {false, true}) {
    torch::manual_seed(5);
    auto stored = tiny();
    torch::manual_seed(5);
    auto recomputed = tiny({{"recompute", true}});
    const auto tokens = random_tokens(2, 9);
    const auto weights = torch::randn({2, 9, kVocabulary});
    std::vector<torch::Tensor> outputs;
    for (auto* model : {stored.get(), recomputed.get()}) {
      model->train();
      const AutocastGuard autocast(torch::kCPU, {bf16, torch::kBFloat16});
      outputs.push_back(model->forward(tokens));
      (outputs.back().to(torch::kFloat) * weights).sum().backward();
    }
    EXPECT_TRUE(torch::equal(outputs[0], outputs[1])) << "bf16 " << bf16;
    const auto a = stored->named_parameters(), b = recomputed->named_parameters();
    for (const auto& item : a) {
      ASSERT_TRUE(b[item.key()].grad().defined()) << item.key() << ", bf16 " << bf16;
      EXPECT_TRUE(torch::allclose(item.value().grad(), b[item.key()].grad(), 1e-5, 1e-6))
          << item.key() << ", bf16 " << bf16;
    }
  }
}

// causal_conv_silu() on the CPU, the reference of the CUDA kernel's tests, against its formula
// one number at a time: widths from 1 to past the length, a strided x, with and without a bias.
TEST(MambaTest, CausalConvolutionIsItsFormula) {
  torch::manual_seed(8);
  for (const int64_t width : {1, 3, 4, 7}) {
    for (const bool with_bias : {true, false}) {
      const int64_t batch = 2, length = 5, channels = 3;
      const auto x =
          torch::randn({batch, length, 2 * channels}, torch::kDouble).narrow(2, channels, channels);
      const auto weight = torch::randn({channels, 1, width}, torch::kDouble);
      const auto bias = with_bias ? torch::randn({channels}, torch::kDouble) : torch::Tensor();
      const auto u = causal_conv_silu(x, weight, bias);
      ASSERT_EQ(u.sizes(), torch::IntArrayRef({batch, channels, length}));
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t c = 0; c < channels; ++c)
          for (int64_t t = 0; t < length; ++t) {
            double pre = with_bias ? bias[c].item<double>() : 0.0;
            for (int64_t k = 0; k < width; ++k) {
              const int64_t source = t - (width - 1) + k;
              if (source >= 0)
                pre += weight[c][0][k].item<double>() * x[b][source][c].item<double>();
            }
            EXPECT_NEAR(u[b][c][t].item<double>(), pre / (1.0 + std::exp(-pre)), 1e-12)
                << "width " << width << " at " << b << ", " << c << ", " << t;
          }
    }
  }
}

// silu_gate() on the CPU, the reference of the CUDA kernel's tests, against its formula one number
// at a time, z the second half of a projection as in the block.
TEST(MambaTest, SiluGateIsItsFormula) {
  torch::manual_seed(9);
  const int64_t batch = 2, length = 5, channels = 3;
  const auto y = torch::randn({batch, channels, length}, torch::kDouble);
  const auto z = torch::randn({batch, length, 2 * channels}, torch::kDouble).chunk(2, -1)[1];
  const auto out = silu_gate(y, z);
  ASSERT_EQ(out.sizes(), torch::IntArrayRef({batch, length, channels}));
  EXPECT_TRUE(out.is_contiguous());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < length; ++t)
      for (int64_t c = 0; c < channels; ++c) {
        const double gate = z[b][t][c].item<double>();
        EXPECT_NEAR(out[b][t][c].item<double>(),
                    y[b][c][t].item<double>() * gate / (1.0 + std::exp(-gate)), 1e-12)
            << "at " << b << ", " << t << ", " << c;
      }
}

// weight times each batch row of x, in value and in both gradients, for an x that is a strided
// view (dt_proj's input is a split of x_proj's output).
TEST(MambaTest, LeftMultiplyIsAProductPerBatchRow) {
  torch::manual_seed(4);
  const auto weight = torch::randn({3, 5}, torch::kDouble).requires_grad_();
  const auto x = torch::randn({2, 9, 4}, torch::kDouble).narrow(1, 2, 5).detach().requires_grad_();
  const auto gout = torch::randn({2, 3, 4}, torch::kDouble);
  const auto out = left_multiply(weight, x);
  const auto expected = torch::einsum("rk,bkc->brc", {weight, x});
  EXPECT_TRUE(torch::allclose(out, expected, 1e-12, 1e-12));
  const auto actual = torch::autograd::grad({out}, {weight, x}, {gout});
  const auto wanted = torch::autograd::grad({expected}, {weight, x}, {gout});
  EXPECT_TRUE(torch::allclose(actual[0], wanted[0], 1e-12, 1e-12)) << "weight's gradient";
  EXPECT_TRUE(torch::allclose(actual[1], wanted[1], 1e-12, 1e-12)) << "x's gradient";
  EXPECT_THROW(left_multiply(weight, x.transpose(1, 2)), c10::Error);
  EXPECT_THROW(left_multiply(weight[0], x), c10::Error);
}

// As autocast would: the weight is cast to x's type, and its gradient comes back in its own.
TEST(MambaTest, LeftMultiplyCastsTheWeightToXsType) {
  const auto weight = torch::randn({3, 5}).requires_grad_();
  const auto x = torch::randn({2, 5, 4}).to(torch::kBFloat16).requires_grad_();
  const auto out = left_multiply(weight, x);
  EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
  out.sum().backward();
  EXPECT_EQ(weight.grad().scalar_type(), torch::kFloat);
  EXPECT_EQ(x.grad().scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::allclose(
      weight.grad(), x.to(torch::kFloat).sum(torch::IntArrayRef{0, 2}).expand({3, 5}), 2e-2, 5e-2));
}

// The block computes its projections in whatever layout saves copies; it must equal Mamba's block
// written out plainly, each projection a Linear on [batch, length, channels], in its output and
// in every parameter's gradient.
TEST(MambaTest, TheBlockIsMambasBlockWrittenPlainly) {
  torch::manual_seed(3);
  auto model = tiny({{"d_model", int64_t{24}}, {"d_state", int64_t{6}}, {"dt_rank", int64_t{5}}});
  MambaBlockImpl& block = mixer(*model, 0);
  const auto x = torch::randn({3, 13, 24});
  const auto weights = torch::randn({3, 13, 24});

  const auto plain = [&] {
    const int64_t d_inner = 48, dt_rank = 5, d_state = 6;
    const auto xz = block.in_proj(x);
    const auto u =
        torch::silu(block.conv(xz.narrow(2, 0, d_inner).transpose(1, 2)).narrow(2, 0, x.size(1)));
    const auto projected = block.x_proj(u.transpose(1, 2));
    const auto delta = torch::softplus(block.dt_proj(projected.narrow(2, 0, dt_rank)));
    const auto B = projected.narrow(2, dt_rank, d_state).transpose(1, 2);
    const auto C = projected.narrow(2, dt_rank + d_state, d_state).transpose(1, 2);
    const auto y = selective_scan_reference(u, delta.transpose(1, 2), block.A(), B, C, block.D) *
                   torch::silu(xz.narrow(2, d_inner, d_inner).transpose(1, 2));
    return block.out_proj(y.transpose(1, 2));
  };
  std::vector<torch::Tensor> outputs;
  std::vector<std::vector<torch::Tensor>> gradients;
  for (const auto& forward :
       std::vector<std::function<torch::Tensor()>>{[&] { return block.forward(x); }, plain}) {
    block.zero_grad();
    outputs.push_back(forward());
    (outputs.back() * weights).sum().backward();
    gradients.emplace_back();
    for (const auto& parameter : block.parameters())
      gradients.back().push_back(parameter.grad().clone());
  }
  EXPECT_TRUE(torch::allclose(outputs[0], outputs[1], 1e-5, 1e-6));
  const auto names = block.named_parameters().keys();
  for (size_t i = 0; i < names.size(); ++i)
    EXPECT_TRUE(torch::allclose(gradients[0][i], gradients[1][i], 1e-4, 1e-6)) << names[i];
}

// As in mamba_ssm: the log decay rates are a matrix but take no weight decay.
TEST(MambaTest, WeightDecaySkipsTheLogDecayRates) {
  const auto model = tiny();
  int64_t decayed = 0;
  for (const auto& item : model->named_parameters()) {
    const bool is_a_log = item.key().find("A_log") != std::string::npos;
    EXPECT_EQ(model->decays(item.key(), item.value()), item.value().dim() >= 2 && !is_a_log)
        << item.key();
    decayed += model->decays(item.key(), item.value());
  }
  EXPECT_GT(decayed, 0);
}

TEST(MambaTest, StateBitsAreFixedInLength) {
  const auto model = tiny({{"d_conv", int64_t{3}}});  // 2 layers, d_inner 32, d_state 4
  const int64_t expected = 2 * (32 * (3 - 1) + 32 * 4) * 32;
  for (const int64_t length : {0, 1, 50, 1000, 100000})
    EXPECT_EQ(model->state_bits(length), expected);
}

// The README's figures: about 162M parameters with d_state 32, 160M with 16, at the 30-token
// vocabulary. Layers are identical, so one- and two-layer models at full width give the 24-layer
// count without allocating 160M parameters.
TEST(MambaTest, PaperConfigurationHasAbout160MParameters) {
  for (const auto& [d_state, expected] :
       std::vector<std::pair<int64_t, double>>{{32, 162e6}, {16, 160e6}}) {
    const auto count = [d_state = d_state](int64_t layers) {
      return parameter_count(*make(params_with({{"layers", layers},
                                                {"d_model", int64_t{1024}},
                                                {"d_state", d_state},
                                                {"expand", int64_t{2}},
                                                {"d_conv", int64_t{4}},
                                                {"dt_rank", int64_t{0}}}),
                                   /*vocabulary_size=*/30));
    };
    const int64_t one = count(1), per_layer = count(2) - one;
    EXPECT_NEAR(static_cast<double>(one + 23 * per_layer), expected, 0.02 * expected)
        << "d_state " << d_state;
  }
}

// The end-to-end check that the block trains: a tiny Mamba learns to copy short strings. With
// d_conv = 2 two layers of convolution reach back 2 tokens, and the first answer letter of a
// length-3 string is 3 back: only the scan's state can carry it.
TEST(MambaTest, LearnsToCopyShortStrings) {
  configure_cpu_runtime();
  test::TempDir dir;
  const Suite suite = load_suite(dir.write("mamba_copy.toml", R"(
[train]
min_length = 1
max_length = 3
context_length = 32
batch_size = 32
steps = 400
learning_rate = 5e-3
warmup_steps = 50

[eval]
lengths = [1, 2, 3]
examples = 256
curve_points = 0

[architectures.mamba]
component = "mamba"
layers = 2
d_model = 32
d_conv = 2
)"));
  ASSERT_EQ(suite.runs.size(), 1u);
  const RunResult result = execute_run(suite.runs[0], suite.registry, torch::kCPU);
  ASSERT_EQ(result.lengths.size(), 3u);
  for (const auto& at : result.lengths)
    EXPECT_GE(at.accuracy.string_accuracy(), 0.9) << "length " << at.length;
}

}  // namespace
}  // namespace parrot::mamba
