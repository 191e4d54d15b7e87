// Training and scoring: the schedule, the curve's steps, accuracy on known answers, determinism.

#include "trainer.hpp"
#include "copy.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace parrot {
namespace {

TEST(Schedule, WarmsUpLinearlyThenDecaysTowardsZero) {
  TrainSettings train{};
  train.learning_rate = 1.0;
  train.steps = 110;
  train.warmup_steps = 10;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0, train), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(4, train), 0.5);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(9, train), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(10, train), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(60, train), 0.5);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(109, train), 0.01);  // last step: small, not zero
  train.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(0, train), 1.0);
}

TEST(CurveSteps, LogSpacedDistinctAndEndingAtTheLastStep) {
  EXPECT_EQ(curve_steps(5, 10000), (std::vector<int64_t>{1, 10, 100, 1000, 10000}));
  EXPECT_EQ(curve_steps(1, 50), (std::vector<int64_t>{50}));
  EXPECT_TRUE(curve_steps(0, 50).empty());
  EXPECT_EQ(curve_steps(10, 3), (std::vector<int64_t>{1, 2, 3}));  // more points than steps
}

// Copies perfectly by reading its own input: knows where '|' is and what came before.
class CopyOracle : public Model {
 public:
  CopyOracle(int64_t vocabulary, int64_t separator, int64_t end, bool break_odd_rows)
      : vocabulary_(vocabulary), separator_(separator), end_(end), break_odd_(break_odd_rows) {}

  torch::Tensor forward(const torch::Tensor& tokens) override {
    const int64_t rows = tokens.size(0), time = tokens.size(1);
    auto logits = torch::zeros({rows, time, vocabulary_});
    auto t = tokens.accessor<int64_t, 2>();
    for (int64_t r = 0; r < rows; ++r) {
      int64_t bar = -1;
      for (int64_t i = 0; i < time && bar < 0; ++i)
        if (t[r][i] == separator_) bar = i;
      const int64_t length = bar - 1;
      for (int64_t i = bar; i < time && i <= bar + length; ++i) {
        int64_t next = i - bar < length ? t[r][i - bar + 1] : end_;
        if (break_odd_ && r % 2 == 1 && i == bar) next = (next + 1) % separator_;
        logits[r][i][next] = 1.0;
      }
    }
    return logits;
  }
  int64_t state_bits(int64_t) const override { return 0; }

 private:
  int64_t vocabulary_, separator_, end_;
  bool break_odd_;
};

TEST(Evaluate, PerfectCopierScoresOneAndOneWrongLetterFailsTheString) {
  const copy::CopyTask task(26);
  const auto examples = held_out_examples(task, 6, 10, 3);
  CopyOracle perfect(30, 27, 28, false);
  const Accuracy all_right = evaluate(perfect, examples, 29, 4, torch::kCPU);
  EXPECT_EQ(all_right.examples, 10);
  EXPECT_DOUBLE_EQ(all_right.string_accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(all_right.char_accuracy(), 1.0);

  CopyOracle flawed(30, 27, 28, true);  // first answer letter wrong in every batch's second row
  const Accuracy half = evaluate(flawed, examples, 29, 2, torch::kCPU);
  EXPECT_DOUBLE_EQ(half.string_accuracy(), 0.5);
  EXPECT_EQ(half.targets, 70);  // 6 letters and '.' per example
  EXPECT_EQ(half.targets_correct, 65);
}

TEST(HeldOutExamples, PrefixStableAndIndependentOfCount) {
  const copy::CopyTask task(26);
  const auto few = held_out_examples(task, 5, 3, 1);
  const auto many = held_out_examples(task, 5, 50, 1);
  for (size_t i = 0; i < few.size(); ++i) EXPECT_EQ(few[i].tokens, many[i].tokens);
  EXPECT_NE(held_out_examples(task, 5, 1, 2)[0].tokens, few[0].tokens);
}

TEST(ExecuteRun, SameSeedSameNumbersOnCpu) {
  test::TempDir dir;
  const Suite suite = load_suite(dir.write("tiny.toml", R"(
[train]
min_length = 1
max_length = 3
context_length = 24
steps = 12
warmup_steps = 2
[eval]
lengths = [3, 6]
examples = 16
curve_points = 3
curve_examples = 8
[architectures.t]
component = "transformer"
layers = 1
d_model = 16
heads = 2
)"));
  const RunResult a = execute_run(suite.runs[0], suite.registry, torch::kCPU);
  const RunResult b = execute_run(suite.runs[0], suite.registry, torch::kCPU);
  ASSERT_EQ(a.curve.size(), 3u);
  for (size_t i = 0; i < a.curve.size(); ++i) {
    EXPECT_EQ(a.curve[i].step, b.curve[i].step);
    EXPECT_EQ(a.curve[i].examples_seen, b.curve[i].examples_seen);
    EXPECT_DOUBLE_EQ(a.curve[i].loss, b.curve[i].loss);
    EXPECT_EQ(a.curve[i].accuracy[0].accuracy.targets_correct,
              b.curve[i].accuracy[0].accuracy.targets_correct);
  }
  ASSERT_EQ(a.lengths.size(), 2u);
  EXPECT_EQ(a.lengths[1].length, 6);
  EXPECT_EQ(a.lengths[1].accuracy.examples, 16);
  EXPECT_EQ(a.lengths[1].accuracy.targets_correct, b.lengths[1].accuracy.targets_correct);
  EXPECT_LT(a.state_bits[0], a.state_bits[1]);
  EXPECT_GT(a.parameters, 0);
  EXPECT_EQ(a.curve.back().step, 12);
  EXPECT_EQ(a.examples_seen, a.curve.back().examples_seen);
}

}  // namespace
}  // namespace parrot
