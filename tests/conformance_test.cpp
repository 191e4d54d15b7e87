// The contract every plugin component must keep, checked for each one found in the build's
// plugin folder (a new plugin gets these tests by being built) and for the plugin template.

#include "registry.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace parrot {
namespace {

const Registry& registry() {
  static const Registry loaded = [] {
    Registry r;
    r.add(PARROT_PLUGIN_DIR);
    r.add(std::filesystem::path(PARROT_TEST_PLUGIN_DIR) / "gru_template");
    return r;
  }();
  return loaded;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

class ArchitectureConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(ArchitectureConformance, LogitsHaveTheRightShapeAtAnyLength) {
  const auto& component = registry().architecture(GetParam());
  const auto model = registry().make_model(GetParam(), test::params_with(component.schema), 30);
  for (int64_t time : {1, 9, 130}) {
    const auto logits = model->forward(torch::randint(0, 30, {2, time}));
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, time, 30}));
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  }
}

TEST_P(ArchitectureConformance, IsCausal) {
  const auto& component = registry().architecture(GetParam());
  torch::manual_seed(0);
  const auto model = registry().make_model(GetParam(), test::params_with(component.schema), 30);
  model->eval();
  const auto tokens = torch::randint(0, 30, {1, 12});
  auto changed = tokens.clone();
  changed[0][8] = (changed[0][8].item<int64_t>() + 1) % 30;
  using torch::indexing::Slice;
  const auto before = model->forward(tokens), after = model->forward(changed);
  EXPECT_TRUE(torch::allclose(before.index({Slice(), Slice(0, 8)}),
                              after.index({Slice(), Slice(0, 8)}), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(before.index({Slice(), 8}), after.index({Slice(), 8})));
}

TEST_P(ArchitectureConformance, ReadsEveryParameterAndReportsStateBits) {
  const auto& component = registry().architecture(GetParam());
  EXPECT_FALSE(component.help.empty());
  const Params params = test::params_with(component.schema);
  const auto model = registry().make_model(GetParam(), params, 30);
  EXPECT_TRUE(params.unread().empty()) << "the factory ignores " << params.unread().front();
  EXPECT_GT(model->state_bits(1), 0);
  EXPECT_LE(model->state_bits(10), model->state_bits(1000));
  for (const auto& spec : component.schema) EXPECT_FALSE(spec.doc.empty()) << spec.name;
}

INSTANTIATE_TEST_SUITE_P(Plugins, ArchitectureConformance,
                         ::testing::ValuesIn(registry().architecture_names()), test_name);

class TaskConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(TaskConformance, ExamplesAreWellFormedAndDeterministic) {
  const auto& component = registry().task(GetParam());
  EXPECT_FALSE(component.help.empty());
  const Params params = test::params_with(component.schema);
  const auto task = registry().make_task(GetParam(), params);
  EXPECT_TRUE(params.unread().empty()) << "the factory ignores " << params.unread().front();
  const Vocabulary vocabulary = task->vocabulary();
  ASSERT_GT(vocabulary.size(), 1);
  ASSERT_GE(vocabulary.pad, 0);
  ASSERT_LT(vocabulary.pad, vocabulary.size());
  Rng a(3), b(3);
  int64_t sampled = 0;
  for (int64_t length = 1; length <= 12; ++length) {
    try {
      task->check_length(length);
    } catch (const InputError&) {
      continue;  // no example of this length exists (dedup needs ngram + 1 letters, say)
    }
    ++sampled;
    const Example example = task->sample(length, a);
    EXPECT_EQ(example.tokens, task->sample(length, b).tokens);
    ASSERT_EQ(example.tokens.size(), example.target.size());
    EXPECT_LE(static_cast<int64_t>(example.tokens.size()), task->max_tokens(length));
    EXPECT_EQ(example.target[0], 0) << "the first token has nothing to be predicted from";
    int64_t targets = 0;
    for (size_t i = 0; i < example.tokens.size(); ++i) {
      EXPECT_GE(example.tokens[i], 0);
      EXPECT_LT(example.tokens[i], vocabulary.size());
      if (example.target[i]) EXPECT_NE(example.tokens[i], vocabulary.pad);
      targets += example.target[i] != 0;
    }
    EXPECT_GT(targets, 0);
  }
  EXPECT_GT(sampled, 0) << "the task refuses every length from 1 to 12";
}

INSTANTIATE_TEST_SUITE_P(Plugins, TaskConformance, ::testing::ValuesIn(registry().task_names()),
                         test_name);

}  // namespace
}  // namespace parrot
