// Training and scoring: the schedule, the curve's points, accuracy on known answers, determinism.

#include "trainer.hpp"
#include "copy.hpp"
#include "curve_schedule.hpp"
#include "determinism.hpp"
#include "precision.hpp"
#include "test_support.hpp"
#include "training_step.hpp"

#include <gtest/gtest.h>
#include <torch/nn/utils/clip_grad.h>

#include <cmath>

namespace parrot {
namespace {

TEST(Schedule, WarmsUpLinearlyThenFollowsTheScheduleTowardsZero) {
  TrainSettings train{};
  train.learning_rate = 1.0;
  train.warmup_steps = 10;
  train.schedule = "linear";
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(train, 0, 0.0), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(train, 4, 0.0), 0.5);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(train, 9, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(train, 10, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(train, 60, 0.5), 0.5);
  EXPECT_NEAR(scheduled_learning_rate(train, 109, 0.99), 0.01, 1e-12);
  train.schedule = "cosine";
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(train, 10, 0.0), 1.0);
  EXPECT_NEAR(scheduled_learning_rate(train, 60, 0.5), 0.5, 1e-12);
  EXPECT_NEAR(scheduled_learning_rate(train, 109, 1.0), 0.0, 1e-12);
  train.schedule = "constant";
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(train, 109, 0.99), 1.0);
  train.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(train, 0, 0.0), 1.0);
}

TEST(CurveSchedule, LogSpacedDistinctAndEndingAtTheLastStep) {
  EXPECT_EQ(curve_schedule(5, 10000), (std::vector<int64_t>{1, 10, 100, 1000, 10000}));
  EXPECT_EQ(curve_schedule(1, 50), (std::vector<int64_t>{50}));
  EXPECT_TRUE(curve_schedule(0, 50).empty());
  EXPECT_EQ(curve_schedule(10, 3), (std::vector<int64_t>{1, 2, 3}));  // more points than steps
}

TEST(CurveSchedule, AMeasurementBelongsToTheLastPointItPassed) {
  const std::vector<int64_t> schedule{1, 10, 100, 1000};
  EXPECT_EQ(curve_point_of(schedule, 1), 1);
  EXPECT_EQ(curve_point_of(schedule, 31), 10);  // a first step of 31 examples passed 1 and 10
  EXPECT_EQ(curve_point_of(schedule, 100), 100);
  EXPECT_EQ(curve_point_of(schedule, 5000), 1000);
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

const char* kTinySuite = R"(
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
)";

// Clipping as LibTorch's clip_grad_norm_ does it: above the limit every gradient shrinks by the
// same factor, below it nothing changes.
TEST(ClipGradientNorm, MatchesLibTorchsClipGradNorm) {
  for (const double max_norm : {0.5, 100.0}) {
    std::vector<torch::Tensor> ours, theirs;
    for (const auto& shape : {std::vector<int64_t>{3, 4}, {5}, {2, 2, 2}}) {
      auto parameter = torch::zeros(shape, torch::requires_grad());
      parameter.mutable_grad() = torch::randn(shape);
      auto copy = torch::zeros(shape, torch::requires_grad());
      copy.mutable_grad() = parameter.grad().clone();
      ours.push_back(parameter);
      theirs.push_back(copy);
    }
    clip_gradient_norm(ours, max_norm);
    torch::nn::utils::clip_grad_norm_(theirs, max_norm);
    for (size_t i = 0; i < ours.size(); ++i)
      EXPECT_TRUE(torch::allclose(ours[i].grad(), theirs[i].grad(), 1e-6, 1e-7))
          << "max_norm " << max_norm << ", parameter " << i;
  }
}

TEST(ExecuteRun, SameSeedSameNumbersOnCpu) {
  test::TempDir dir;
  const Suite suite = load_suite(dir.write("tiny.toml", kTinySuite));
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
  EXPECT_EQ(a.lengths[1].task, "copy");
  EXPECT_EQ(a.lengths[1].length, 6);
  EXPECT_EQ(a.lengths[1].accuracy.examples, 16);
  EXPECT_EQ(a.lengths[1].accuracy.targets_correct, b.lengths[1].accuracy.targets_correct);
  EXPECT_LT(a.lengths[0].state_bits, a.lengths[1].state_bits);
  EXPECT_DOUBLE_EQ(*a.lengths[1].memory_bits, 6 * std::log2(26.0));
  EXPECT_GT(a.parameters, 0);
  EXPECT_EQ(a.curve.back().step, 12);
  EXPECT_EQ(a.examples_seen, a.curve.back().examples_seen);
}

void expect_same_result(const RunResult& a, const RunResult& b) {
  ASSERT_EQ(a.curve.size(), b.curve.size());
  for (size_t i = 0; i < a.curve.size(); ++i) {
    EXPECT_EQ(a.curve[i].step, b.curve[i].step);
    EXPECT_EQ(a.curve[i].examples_seen, b.curve[i].examples_seen);
    EXPECT_DOUBLE_EQ(a.curve[i].loss, b.curve[i].loss) << "curve point " << i;
    EXPECT_EQ(a.curve[i].accuracy[0].accuracy.targets_correct,
              b.curve[i].accuracy[0].accuracy.targets_correct);
  }
  ASSERT_EQ(a.lengths.size(), b.lengths.size());
  for (size_t i = 0; i < a.lengths.size(); ++i)
    EXPECT_EQ(a.lengths[i].accuracy.targets_correct, b.lengths[i].accuracy.targets_correct);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.examples_seen, b.examples_seen);
}

TEST(ExecuteRun, AStoppedRunResumesFromItsCheckpointWithTheSameNumbers) {
  test::TempDir dir;
  const Suite suite = load_suite(dir.write("tiny.toml", kTinySuite));
  const RunResult straight = execute_run(suite.runs[0], suite.registry, torch::kCPU);

  const auto checkpoint = dir.path() / "run.ckpt";
  int64_t asked = 0;
  const CheckpointPolicy stop_after_seven{checkpoint, 0, [&] { return ++asked > 7; }};
  try {
    execute_run(suite.runs[0], suite.registry, torch::kCPU, {}, stop_after_seven);
    FAIL() << "the run did not stop";
  } catch (const RunStopped& stopped) {
    EXPECT_EQ(stopped.step, 7);
  }
  ASSERT_TRUE(std::filesystem::exists(checkpoint));
  torch::manual_seed(12345);  // disturb the global generator: the checkpoint must restore it
  const RunResult resumed =
      execute_run(suite.runs[0], suite.registry, torch::kCPU, {}, {checkpoint, 0, {}});
  expect_same_result(straight, resumed);
}

// Evaluation between steps must leave training alone (the generators, the mode, the weights):
// measured after every step or once at the end, the steps' losses are the same.
TEST(ExecuteRun, MeasuringTheCurveDoesNotChangeTraining) {
  test::TempDir dir;
  const Suite suite = load_suite(dir.write("tiny.toml", kTinySuite));
  parrot::Run run = suite.runs[0];
  run.eval.curve_points = 1;
  const RunResult once = execute_run(run, suite.registry, torch::kCPU);
  run.eval.curve_points = 100;  // more points than steps: one after every step
  const RunResult every_step = execute_run(run, suite.registry, torch::kCPU);
  ASSERT_EQ(once.curve.size(), 1u);
  ASSERT_EQ(every_step.curve.size(), static_cast<size_t>(run.train.steps));
  double mean_loss = 0;
  for (const auto& point : every_step.curve) mean_loss += point.loss / run.train.steps;
  EXPECT_NEAR(once.curve[0].loss, mean_loss, 1e-9);
  ASSERT_EQ(once.lengths.size(), every_step.lengths.size());
  for (size_t i = 0; i < once.lengths.size(); ++i)
    EXPECT_EQ(once.lengths[i].accuracy.targets_correct,
              every_step.lengths[i].accuracy.targets_correct);
}

TEST(ExecuteRun, AnExamplesBudgetStopsOnceThatManyExamplesAreSeen) {
  test::TempDir dir;
  const Suite suite = load_suite(dir.write("tiny.toml", kTinySuite));
  parrot::Run run = suite.runs[0];
  run.train.examples = 100;
  const RunResult result = execute_run(run, suite.registry, torch::kCPU);
  EXPECT_GE(result.examples_seen, 100);
  // Rows of 24 tokens hold at least two examples of length <= 3, so a step adds >= 2 * batch.
  EXPECT_LT(result.examples_seen, 100 + 8 * 24);
  EXPECT_EQ(result.curve.back().examples_seen, result.examples_seen);
}

TEST(ExecuteRun, EarlyStopEndsTrainingAtTheFirstCurvePointPastTheTarget) {
  test::TempDir dir;
  const Suite suite = load_suite(dir.write("tiny.toml", kTinySuite));
  parrot::Run run = suite.runs[0];
  run.train.early_stop = 1e-9;  // any accuracy above 0 counts; 0 itself would be "off"
  run.train.steps = 400;
  run.train.learning_rate = 3e-3;
  run.eval.curve_points = 40;
  run.eval.curve_lengths = {1};
  const RunResult result = execute_run(run, suite.registry, torch::kCPU);
  ASSERT_TRUE(result.stopped_early) << "the model never got one string right in 400 steps";
  EXPECT_LT(result.steps, 400);
  EXPECT_EQ(result.curve.back().step, result.steps);
  EXPECT_GT(result.curve.back().accuracy[0].accuracy.string_accuracy(), 0);
  for (size_t i = 0; i + 1 < result.curve.size(); ++i)
    EXPECT_EQ(result.curve[i].accuracy[0].accuracy.strings_correct, 0);
}

// Reaching the target at the point that ends training anyway is not stopping early.
TEST(ExecuteRun, ATargetReachedAtTheLastStepIsNotAnEarlyStop) {
  test::TempDir dir;
  const Suite suite = load_suite(dir.write("tiny.toml", kTinySuite));
  parrot::Run run = suite.runs[0];
  run.train.early_stop = 1e-9;
  run.train.steps = 400;
  run.train.learning_rate = 3e-3;
  run.eval.curve_points = 1;  // measured once, after the last step
  run.eval.curve_lengths = {1};
  const RunResult result = execute_run(run, suite.registry, torch::kCPU);
  ASSERT_EQ(result.curve.size(), 1u);
  ASSERT_GT(result.curve.back().accuracy[0].accuracy.string_accuracy(), 0)
      << "the model never got one string right in 400 steps";
  EXPECT_EQ(result.steps, 400);
  EXPECT_FALSE(result.stopped_early);
}

TEST(ExecuteRun, Bf16PrecisionTrainsUnderAutocastAndRestoresItAfter) {
  test::TempDir dir;
  const Suite suite = load_suite(dir.write("tiny.toml", kTinySuite));
  parrot::Run run = suite.runs[0];
  run.train.precision = "bf16";
  const RunResult result = execute_run(run, suite.registry, torch::kCPU);
  ASSERT_FALSE(result.curve.empty());
  for (const auto& point : result.curve) EXPECT_TRUE(std::isfinite(point.loss));
  // bf16 rounds differently from fp32: the same seed gives other numbers.
  const RunResult fp32 = execute_run(suite.runs[0], suite.registry, torch::kCPU);
  EXPECT_NE(result.curve.back().loss, fp32.curve.back().loss);
  // Outside the run, matmuls are fp32 again.
  EXPECT_EQ(torch::ones({2, 2}).matmul(torch::ones({2, 2})).scalar_type(), torch::kFloat);
}

// Every architecture's ops have a deterministic form on the CPU (none throws), and there, where
// training is bit-exact anyway, the switch changes no number.
TEST(ExecuteRun, DeterministicRunsEveryArchitectureToTheSameNumbersOnCpu) {
  test::TempDir dir;
  const Suite suite = load_suite(dir.write("tiny.toml", std::string(kTinySuite) + R"(
positional = ["rope", "alibi", "hard_alibi"]
[architectures.mamba]
layers = 1
d_model = 16
[architectures.lstm]
width = 16
)"));
  ASSERT_EQ(suite.runs.size(), 5u);
  for (const parrot::Run& run : suite.runs) {
    parrot::Run deterministic = run;
    deterministic.train.deterministic = true;
    const RunResult on = execute_run(deterministic, suite.registry, torch::kCPU);
    const RunResult off = execute_run(run, suite.registry, torch::kCPU);
    ASSERT_EQ(on.curve.size(), off.curve.size()) << run.name;
    for (size_t i = 0; i < on.curve.size(); ++i)
      EXPECT_EQ(on.curve[i].loss, off.curve[i].loss) << run.name << ", curve point " << i;
    EXPECT_FALSE(at::globalContext().deterministicAlgorithms()) << "left on after " << run.name;
  }
}

TEST(DeterminismScope, SetsEverySwitchForItsLifetimeOnly) {
  auto& context = at::globalContext();
  ASSERT_FALSE(context.deterministicAlgorithms());
  const bool benchmark = context.benchmarkCuDNN();
  {
    const DeterminismScope off(false, torch::kCPU);
    EXPECT_FALSE(context.deterministicAlgorithms());
  }
  {
    const DeterminismScope on(true, torch::kCPU);
    EXPECT_TRUE(context.deterministicAlgorithms());
    EXPECT_FALSE(context.deterministicAlgorithmsWarnOnly());  // a missing kernel fails the run
    EXPECT_TRUE(context.deterministicCuDNN());
    EXPECT_FALSE(context.benchmarkCuDNN());
  }
  EXPECT_FALSE(context.deterministicAlgorithms());
  EXPECT_FALSE(context.deterministicCuDNN());
  EXPECT_EQ(context.benchmarkCuDNN(), benchmark);
}

// Autocast's cache would keep each weight's first bfloat16 copy for the whole run.
TEST(PrecisionScope, Bf16ComputesWithTheWeightsAsTheyAreNow) {
  const PrecisionScope bf16("bf16", torch::kCPU);
  const torch::Tensor weight = torch::ones({4, 4}, torch::requires_grad());
  const torch::Tensor x = torch::ones({1, 4});
  const torch::Tensor before = torch::matmul(x, weight);
  ASSERT_EQ(before.scalar_type(), torch::kBFloat16);
  {
    torch::NoGradGuard no_grad;
    weight.mul_(2);  // as an optimizer step does
  }
  const torch::Tensor after = torch::matmul(x, weight);
  EXPECT_TRUE(torch::equal(after.to(torch::kFloat), 2 * before.to(torch::kFloat)));
}

}  // namespace
}  // namespace parrot
