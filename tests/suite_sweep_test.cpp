// Suites that describe studies: sweeps (inline lists and [matrix]), --set overrides, length
// ranges, evaluation tasks, and picking runs with --only and --shard.

#include "run_selection.hpp"
#include "suite.hpp"
#include "test_support.hpp"

#include <parrot/error.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

namespace parrot {
namespace {

using ::testing::HasSubstr;

const std::string kBase = R"(
seeds = [0, 1]
[train]
max_length = 5
context_length = 40
steps = 10
[architectures.tf]
component = "transformer"
layers = 1
d_model = 16
heads = 2
)";

class SweepTest : public ::testing::Test {
 protected:
  Suite load(const std::string& text, std::vector<std::string> overrides = {}) {
    return load_suite(dir_.write("suite.toml", text), {{}, std::move(overrides)});
  }

  std::string error_of(const std::string& text, std::vector<std::string> overrides = {}) {
    try {
      load(text, std::move(overrides));
    } catch (const InputError& error) {
      return error.what();
    }
    return "no error";
  }

  static std::vector<std::string> names(const std::vector<parrot::Run>& runs) {
    std::vector<std::string> list;
    for (const auto& run : runs) list.push_back(run.name);
    return list;
  }

  test::TempDir dir_;
};

TEST_F(SweepTest, AListForAScalarParameterIsASweepAndNamesTheRuns) {
  const Suite suite = load(kBase + "positional = [\"nope\", \"hard_alibi\"]\n");
  EXPECT_EQ(names(suite.runs),
            (std::vector<std::string>{
                "tf@positional=nope/copy/seed0", "tf@positional=nope/copy/seed1",
                "tf@positional=hard_alibi/copy/seed0", "tf@positional=hard_alibi/copy/seed1"}));
  EXPECT_EQ(suite.runs[2].architecture.params.string("positional"), "hard_alibi");
  EXPECT_EQ(suite.runs[2].sweep, (nlohmann::json{{"positional", "hard_alibi"}}));
}

TEST_F(SweepTest, AListOfListsSweepsAListParameter) {
  const std::string hard = kBase + "positional = \"hard_alibi\"\n";
  const Suite plain = load(hard + "windows = [1, 2]\n");
  EXPECT_EQ(plain.runs.size(), 2u);  // one list: the parameter's value, not a sweep
  const Suite swept = load(hard + "windows = [[1, 2], [1, 0]]\n");
  ASSERT_EQ(swept.runs.size(), 4u);
  EXPECT_EQ(swept.runs[0].name, "tf@windows=[1,2]/copy/seed0");
  EXPECT_EQ(swept.runs[2].architecture.params.int_list("windows"), (std::vector<int64_t>{1, 0}));
}

TEST_F(SweepTest, AxesMultiplyAcrossTablesAndTheMatrix) {
  const Suite suite = load(kBase + R"(parallel_residual = [true, false]
[matrix]
"train.learning_rate" = [1e-3, 3e-3, 1e-2]
)");
  EXPECT_EQ(suite.runs.size(), 2u * 3u * 2u);
  std::set<std::string> ids;
  for (const auto& run : suite.runs) ids.insert(run.id);
  EXPECT_EQ(ids.size(), suite.runs.size());
  EXPECT_EQ(suite.runs[0].name, "tf@learning_rate=0.001,parallel_residual=true/copy/seed0");
  EXPECT_DOUBLE_EQ(suite.runs.back().train.learning_rate, 1e-2);
  EXPECT_FALSE(suite.runs.back().architecture.params.boolean("parallel_residual"));
}

TEST_F(SweepTest, IdsOfASweptRunStayWhenUnrelatedEntriesAreAdded) {
  const std::string swept = kBase + "positional = [\"nope\", \"rope\"]\n";
  const Suite before = load(swept);
  const Suite after = load(swept + "[architectures.lstm]\nwidth = [8, 16]\n");
  ASSERT_EQ(after.runs.size(), 8u);
  for (size_t i = 0; i < before.runs.size(); ++i) {
    EXPECT_EQ(after.runs[i].id, before.runs[i].id);
    EXPECT_EQ(after.runs[i].name, before.runs[i].name);
  }
  // The same run reached through [matrix] instead of an inline list has the same id.
  const Suite matrix =
      load(kBase + "[matrix]\n\"architectures.tf.positional\" = [\"nope\", \"rope\"]\n");
  EXPECT_EQ(matrix.runs[0].id, before.runs[0].id);
}

TEST_F(SweepTest, AMatrixAxisOfOneArchitectureLeavesTheOthersAlone) {
  const Suite suite = load(kBase + R"([architectures.lstm]
width = 8
[matrix.architectures.tf]
layers = [1, 2]
)");
  EXPECT_EQ(names(suite.runs),
            (std::vector<std::string>{"tf@layers=1/copy/seed0", "tf@layers=1/copy/seed1",
                                      "tf@layers=2/copy/seed0", "tf@layers=2/copy/seed1",
                                      "lstm/copy/seed0", "lstm/copy/seed1"}));
}

TEST_F(SweepTest, BadSweepsAreLocated) {
  EXPECT_THAT(error_of(kBase + "[matrix]\n\"train.steps\" = 5\n"),
              HasSubstr("suite.toml:13:17: [matrix] train.steps: must be a non-empty array"));
  EXPECT_THAT(error_of(kBase + "[matrix]\n\"seeds\" = [1]\n"),
              HasSubstr("only train.*, eval.*, tasks.* and architectures.* can be swept"));
  EXPECT_THAT(error_of(kBase + "[matrix]\n\"architectures.rnn.width\" = [1]\n"),
              HasSubstr("there is no [architectures.rnn]"));
  EXPECT_THAT(error_of(kBase + "[matrix]\n\"train.stepz\" = [1, 2]\n"),
              HasSubstr("suite.toml:13:18: [train]: unknown parameter 'stepz' (did you mean "
                        "'steps'?)"));
  EXPECT_THAT(error_of(kBase + "positional = [\"nope\", 3]\n"),
              HasSubstr("suite.toml:12:23: architecture 'tf' (transformer): positional: must be a "
                        "string, got an int"));
  EXPECT_THAT(
      error_of(kBase + "rotary_base = [1e4]\n[matrix]\n\"architectures.tf.rotary_base\" = [1e3]\n"),
      HasSubstr("swept twice"));
  EXPECT_THAT(error_of(kBase + "[tasks.small]\ncomponent = \"copy\"\nalphabet = [4, 5]\n"),
              HasSubstr("tasks.small.alphabet is swept but no run uses it"));
}

TEST_F(SweepTest, OverridesAreCheckedLikeTheFileAndWin) {
  const Suite suite = load(kBase, {"train.steps=7", "architectures.tf.positional=rope",
                                   "eval.lengths=[3, 9]", "seeds=[4]"});
  ASSERT_EQ(suite.runs.size(), 1u);
  EXPECT_EQ(suite.runs[0].train.steps, 7);
  EXPECT_EQ(suite.runs[0].architecture.params.string("positional"), "rope");
  EXPECT_EQ(suite.runs[0].eval.lengths, (std::vector<int64_t>{3, 9}));
  EXPECT_EQ(suite.runs[0].seed, 4);
  // An override may add a table the file lacks, and may itself be a sweep.
  EXPECT_EQ(load(kBase, {"architectures.tf.train.learning_rate=[0.1, 0.2]"}).runs.size(), 4u);

  EXPECT_THAT(error_of(kBase, {"train.steps=many"}),
              HasSubstr("--set train.steps=many: [train]: steps: must be an int, got a string"));
  EXPECT_THAT(error_of(kBase, {"train.stepz=3"}), HasSubstr("did you mean 'steps'?"));
  EXPECT_THAT(error_of(kBase, {"train"}), HasSubstr("--set train: expected key.path=value"));
  EXPECT_THAT(error_of(kBase, {"train..steps=3"}), HasSubstr("has an empty segment"));
}

TEST_F(SweepTest, EvaluationLengthsMayBeRangesThatIncludeTheirEnd) {
  EXPECT_EQ(
      load(kBase + "[eval]\nlengths = {from = 10, to = 40, step = 10}\n").runs[0].eval.lengths,
      (std::vector<int64_t>{10, 20, 30, 40}));
  EXPECT_EQ(
      load(kBase + "[eval]\nlengths = {from = 5, to = 50, factor = 2}\n").runs[0].eval.lengths,
      (std::vector<int64_t>{5, 10, 20, 40, 50}));
  EXPECT_EQ(
      load(kBase + "[eval]\nlengths = {from = 1, to = 4, factor = 1.5}\n").runs[0].eval.lengths,
      (std::vector<int64_t>{1, 2, 3, 4}));  // 1, 1.5, 2.25, 3.375 rounded, once each
  EXPECT_THAT(error_of(kBase + "[eval]\nlengths = {from = 10, to = 40}\n"),
              HasSubstr("suite.toml:13:11: [eval]: lengths: a range is {from, to, step} or "
                        "{from, to, factor}"));
  EXPECT_THAT(error_of(kBase + "[eval]\nlengths = {from = 10, to = 40, factor = 1}\n"),
              HasSubstr("factor must be a number above 1"));
  EXPECT_THAT(error_of(kBase + "[eval]\nlengths = {from = 10, to = 4, step = 1}\n"),
              HasSubstr("the range is empty"));
}

TEST_F(SweepTest, ARunIsEvaluatedOnEveryEvaluationTask) {
  const Suite suite = load(kBase + R"([eval]
tasks = ["copy", "copy_again"]
[tasks.copy_again]
component = "copy"
)");
  ASSERT_EQ(suite.runs[0].eval_tasks.size(), 2u);
  EXPECT_EQ(suite.runs[0].eval_tasks[1].name, "copy_again");
  EXPECT_EQ(load(kBase).runs[0].eval_tasks.at(0).name, "copy");  // default: the training task
  EXPECT_THAT(error_of(kBase + "[eval]\ntasks = [\"copy\", \"small\"]\n[tasks.small]\n"
                               "component = \"copy\"\nalphabet = 10\n"),
              HasSubstr("suite.toml:13:18: evaluation task 'small' has another vocabulary (14 "
                        "tokens) than training task 'copy' (30 tokens)"));
  EXPECT_THAT(error_of(kBase + "[eval]\ntasks = [\"cpy\"]\n"),
              HasSubstr("suite.toml:13:10: no entry [tasks.cpy] and no task component 'cpy'"));
  EXPECT_THAT(error_of(kBase + "[eval]\ntasks = \"copy\"\n"),
              HasSubstr("eval.tasks must be a non-empty array of task names"));
}

TEST_F(SweepTest, OnlyPicksRunsByGlob) {
  const Suite suite = load(kBase + "positional = [\"nope\", \"rope\"]\n");
  EXPECT_EQ(
      names(select_runs(suite.runs, {"*rope*"}, {})),
      (std::vector<std::string>{"tf@positional=rope/copy/seed0", "tf@positional=rope/copy/seed1"}));
  EXPECT_EQ(select_runs(suite.runs, {"*seed0", "*seed1"}, {}).size(), 4u);
  EXPECT_THROW(select_runs(suite.runs, {"mamba*"}, {}), InputError);
}

TEST_F(SweepTest, ShardsPartitionTheRuns) {
  const Suite suite = load(
      kBase +
      "rotary_fraction = [0.25, 0.5, 0.75, 1.0]\nparallel_residual = [true, false]\n");  // 16 runs
  for (int64_t count : {1, 3, 5, 16, 20}) {
    std::map<std::string, int> taken;
    size_t largest = 0, smallest = suite.runs.size();
    for (int64_t index = 1; index <= count; ++index) {
      const auto shard = select_runs(suite.runs, {}, {index, count});
      largest = std::max(largest, shard.size());
      smallest = std::min(smallest, shard.size());
      for (const auto& run : shard) ++taken[run.id];
    }
    EXPECT_EQ(taken.size(), suite.runs.size()) << count << " shards";
    for (const auto& [id, times] : taken) EXPECT_EQ(times, 1) << id;
    EXPECT_LE(largest - smallest, 1u) << count << " shards";
  }
  EXPECT_EQ(parse_shard("2/4").index, 2);
  for (const char* bad : {"0/4", "5/4", "2", "a/b", "2/4x", "-1/3"})
    EXPECT_THROW(parse_shard(bad), InputError) << bad;
}

}  // namespace
}  // namespace parrot
