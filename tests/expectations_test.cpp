// [[expect]] blocks: reading them from TOML with located errors, the suite.json round trip, and
// verdicts on hand-made run records (pass, fail, no match, comparisons, "2x", never reached).

#include "expectations.hpp"

#include <parrot/error.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace parrot {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<Expectation> read(const std::string& text) {
  const toml::table suite = toml::parse(text, std::string_view("suite.toml"));
  return read_expectations(suite.get("expect"));
}

std::string error_of(const std::string& text) {
  try {
    read(text);
  } catch (const InputError& error) {
    return error.what();
  }
  return "no error";
}

TEST(ReadExpectations, ThresholdAndComparisonBlocks) {
  const auto expectations = read(R"(
[[expect]]
runs = "hard_alibi*"
task = "copy"
length = 1000
at_least = 0.9

[[expect]]
better = "hard_alibi*"
worse = "mamba*"
length = "2x"
by = 0.5

[[expect]]
runs = "mamba*"
metric = "examples_to"
threshold = 0.9
at_most = 100000

[[expect]]
metric = "longest_length"
threshold = 0.99
at_least = "1.5x"
)");
  ASSERT_EQ(expectations.size(), 4u);

  const Expectation& threshold = expectations[0];
  EXPECT_EQ(threshold.where, "suite.toml:2:1");
  EXPECT_FALSE(threshold.is_comparison());
  EXPECT_EQ(threshold.runs, "hard_alibi*");
  EXPECT_EQ(threshold.metric, Metric::kAccuracy);  // the default
  EXPECT_EQ(threshold.task, "copy");
  EXPECT_EQ(threshold.length->value, 1000);
  EXPECT_FALSE(threshold.length->times_max_train_length);
  EXPECT_EQ(threshold.at_least->value, 0.9);
  EXPECT_FALSE(threshold.at_most);
  EXPECT_EQ(describe(threshold), "hard_alibi* accuracy on copy at length 1000 >= 0.9");

  const Expectation& comparison = expectations[1];
  EXPECT_TRUE(comparison.is_comparison());
  EXPECT_EQ(comparison.better, "hard_alibi*");
  EXPECT_EQ(comparison.worse, "mamba*");
  EXPECT_FALSE(comparison.task);  // each run's training task
  EXPECT_TRUE(comparison.length->times_max_train_length);
  EXPECT_EQ(comparison.length->resolve(8), 16);
  EXPECT_EQ(*comparison.by, 0.5);
  EXPECT_EQ(describe(comparison), "hard_alibi* beats mamba* on accuracy at length 2x by >= 0.5");

  EXPECT_EQ(expectations[2].metric, Metric::kExamplesTo);
  EXPECT_EQ(expectations[2].threshold, 0.9);
  EXPECT_EQ(describe(expectations[2]), "mamba* examples to 90% <= 100000");

  EXPECT_EQ(expectations[3].runs, "*");  // the default glob
  EXPECT_EQ(expectations[3].at_least->resolve(8), 12);
  EXPECT_EQ(describe(expectations[3]), "* longest length reaching 0.99 accuracy >= 1.5x");
}

TEST(ReadExpectations, NoExpectBlocksIsNoExpectations) {
  EXPECT_TRUE(read("name = \"x\"\n").empty());
}

TEST(ReadExpectations, ErrorsNameLineColumnAndSuggest) {
  EXPECT_THAT(error_of("[[expect]]\nlength = 8\nat_lest = 0.9\n"),
              HasSubstr("suite.toml:3:1: [[expect]]: unknown key 'at_lest' (did you mean "
                        "'at_least'?)"));
  EXPECT_THAT(error_of("[[expect]]\n  metric = \"acuracy\"\n"),
              HasSubstr("suite.toml:2:3: [[expect]]: metric: unknown metric 'acuracy' (did you "
                        "mean 'accuracy'?)"));
  EXPECT_THAT(error_of("[[expect]]\nlength = 8\nat_least = \"high\"\n"),
              HasSubstr("suite.toml:3:1: [[expect]]: at_least: must be a number, got a string"));
  EXPECT_THAT(error_of("[[expect]]\nlength = \"2y\"\nat_least = 0.9\n"),
              HasSubstr("suite.toml:2:1: [[expect]]: length: must be an int or a multiple of the "
                        "longest training length like \"2x\", got \"2y\""));
  EXPECT_THAT(error_of("[[expect]]\nlength = 0\nat_least = 0.9\n"),
              HasSubstr("suite.toml:2:1: [[expect]]: length: must be > 0"));
  EXPECT_THAT(error_of("[[expect]]\nlength = 8\nat_least = 1.5\n"),
              HasSubstr("at_least: an accuracy bound must be in [0, 1], got 1.5"));
}

TEST(ReadExpectations, MissingAndConflictingKeys) {
  EXPECT_THAT(error_of("\n[[expect]]\nruns = \"a*\"\nat_least = 0.9\n"),
              HasSubstr("suite.toml:2:1: [[expect]]: metric accuracy needs length"));
  EXPECT_THAT(error_of("[[expect]]\nlength = 8\n"),
              HasSubstr("suite.toml:1:1: [[expect]]: a threshold needs at_least"));
  EXPECT_THAT(error_of("[[expect]]\nlength = 8\nat_least = 0.5\nat_most = 0.9\n"),
              HasSubstr("suite.toml:4:1: [[expect]]: at_most: give at_least or at_most, not both"));
  EXPECT_THAT(error_of("[[expect]]\nmetric = \"examples_to\"\nthreshold = 0.8\nat_most = 10\n"),
              HasSubstr("suite.toml:3:1: [[expect]]: threshold: examples_to is recorded for 0.5, "
                        "0.9 and 0.99 only"));
  EXPECT_THAT(error_of("[[expect]]\nmetric = \"examples_to\"\nat_most = 10\n"),
              HasSubstr("metric examples_to needs threshold"));
  EXPECT_THAT(error_of("[[expect]]\nmetric = \"examples_to\"\nthreshold = 0.9\ntask = \"copy\"\n"
                       "at_most = 10\n"),
              HasSubstr("suite.toml:4:1: [[expect]]: task: does not apply to examples_to"));
  EXPECT_THAT(error_of("[[expect]]\nmetric = \"longest_length\"\nthreshold = 0.9\nlength = 8\n"),
              HasSubstr("suite.toml:4:1: [[expect]]: length: does not apply to longest_length"));
  EXPECT_THAT(error_of("[[expect]]\nbetter = \"a*\"\nlength = 8\nby = 0.1\n"),
              HasSubstr("suite.toml:1:1: [[expect]]: a comparison needs both better and worse"));
  EXPECT_THAT(error_of("[[expect]]\nbetter = \"a*\"\nworse = \"b*\"\nlength = 8\n"),
              HasSubstr("a comparison needs by = the least margin"));
  EXPECT_THAT(error_of("[[expect]]\nbetter = \"a*\"\nworse = \"b*\"\nlength = 8\nby = 0.1\n"
                       "at_least = 0.5\n"),
              HasSubstr("suite.toml:6:1: [[expect]]: at_least: bounds a threshold"));
  EXPECT_THAT(error_of("[[expect]]\nbetter = \"a*\"\nworse = \"b*\"\nmetric = \"examples_to\"\n"
                       "threshold = 0.9\nby = 2\n"),
              HasSubstr("suite.toml:6:1: [[expect]]: by: an examples_to comparison takes factor"));
  EXPECT_THAT(error_of("[[expect]]\nruns = \"a*\"\nlength = 8\nat_least = 0.5\nby = 0.1\n"),
              HasSubstr("suite.toml:5:1: [[expect]]: by: applies to a comparison"));
  EXPECT_THAT(error_of("[[expect]]\nruns = \"a*\"\nbetter = \"a*\"\nworse = \"b*\"\nlength = 8\n"
                       "by = 0.1\n"),
              HasSubstr("suite.toml:2:1: [[expect]]: runs: a comparison names better and worse"));
  EXPECT_THAT(error_of("[expect]\nruns = \"a*\"\n"),
              HasSubstr("suite.toml:1:1: expect must be an array of tables: write each block as "
                        "[[expect]]"));
}

TEST(ExpectationsJson, RoundTripKeepsEveryKey) {
  const auto expectations = read(R"(
[[expect]]
runs = "hard_alibi*"
task = "copy"
length = "2x"
at_least = 0.9

[[expect]]
better = "hard_alibi*"
worse = "mamba*"
metric = "examples_to"
threshold = 0.99
factor = 10

[[expect]]
metric = "longest_length"
threshold = 0.5
at_most = 64
)");
  const nlohmann::json stored = expectations_to_json(expectations);
  EXPECT_EQ(stored[0]["length"], "2x");
  EXPECT_EQ(stored[0]["at_least"], 0.9);
  EXPECT_EQ(stored[0]["where"], "suite.toml:2:1");
  EXPECT_EQ(stored[2]["at_most"], 64);
  EXPECT_TRUE(stored[2]["at_most"].is_number_integer());

  // Through text, as suite.json holds it.
  const auto restored = expectations_from_json(nlohmann::json::parse(stored.dump()), "suite.json");
  ASSERT_EQ(restored.size(), expectations.size());
  for (size_t i = 0; i < expectations.size(); ++i) {
    EXPECT_EQ(restored[i].where, expectations[i].where);
    EXPECT_EQ(describe(restored[i]), describe(expectations[i]));
    EXPECT_EQ(expectations_to_json({restored[i]}), expectations_to_json({expectations[i]}));
  }
  EXPECT_EQ(*restored[1].factor, 10);
  EXPECT_EQ(restored[1].threshold, 0.99);
}

TEST(ExpectationsJson, ChecksWhatItReads) {
  const auto error_from = [](const std::string& text) -> std::string {
    try {
      expectations_from_json(nlohmann::json::parse(text), "results/demo/suite.json");
    } catch (const InputError& error) {
      return error.what();
    }
    return "no error";
  };
  EXPECT_THAT(error_from(R"([{"metric": "acurracy", "length": 8, "at_least": 0.5}])"),
              HasSubstr("results/demo/suite.json: expectations[0]: [[expect]]: metric: unknown "
                        "metric 'acurracy' (did you mean 'accuracy'?)"));
  EXPECT_THAT(error_from(R"({"runs": "*"})"),
              HasSubstr("results/demo/suite.json: 'expectations' must be an array"));
  EXPECT_THAT(error_from(R"([{"length": 8.5, "at_least": 0.5}])"),
              HasSubstr("length: must be an int or a multiple"));
}

// ---- verdicts ----

constexpr double kNever = std::numeric_limits<double>::infinity();

// A finished run of 20000 examples with string accuracy at some lengths of its training task and
// examples to 90%.
RunRecords run(const std::string& name, int64_t max_train_length,
               const std::vector<std::pair<int64_t, double>>& accuracy,
               double examples_to_90 = 1000) {
  RunRecords records;
  records.run_id = name;
  records.name = name;
  records.architecture = name.substr(0, name.find('/'));
  records.task = "copy";
  records.max_train_length = max_train_length;
  records.examples_seen = 20000;
  records.examples_to[0.9] =
      examples_to_90 == kNever ? std::nullopt : std::optional<int64_t>(examples_to_90);
  for (const auto& [length, share] : accuracy)
    records.lengths.push_back(
        {"copy", length, 64, std::nullopt, 100, static_cast<int64_t>(share * 100), share, share});
  return records;
}

std::vector<Verdict> verdicts_of(const std::string& toml, const std::vector<RunRecords>& runs,
                                 const std::vector<std::string>& not_run = {}) {
  return judge(read(toml), runs, not_run);
}

const std::vector<RunRecords> kRuns = {
    run("hard_alibi/copy/seed0", 8, {{8, 1.0}, {16, 0.95}, {32, 0.5}}, 2000),
    run("hard_alibi/copy/seed1", 8, {{8, 1.0}, {16, 0.91}, {32, 0.4}}, 3000),
    run("mamba/copy/seed0", 8, {{8, 0.99}, {16, 0.0}, {32, 0.0}}, 500),
    run("mamba/copy/seed1", 8, {{8, 0.97}, {16, 0.02}, {32, 0.0}}, kNever),
};

TEST(Judge, ThresholdPassesWhenEveryMatchingRunDoes) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
runs = "hard_alibi*"
task = "copy"
length = 16
at_least = 0.9
)",
                                    kRuns);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_TRUE(verdicts[0].passed);
  EXPECT_EQ(verdicts[0].where, "suite.toml:2:1");
  EXPECT_EQ(verdicts[0].description,
            "hard_alibi* accuracy on copy at length 16: lowest 0.91 >= 0.9 (2 runs, mean 0.93)");
}

TEST(Judge, ThresholdFailsWhenOneRunMissesAndNamesIt) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
runs = "hard_alibi*"
length = 16
at_least = 0.92
)",
                                    kRuns);
  EXPECT_FALSE(verdicts[0].passed);
  EXPECT_EQ(verdicts[0].description,
            "hard_alibi* accuracy on copy at length 16: lowest 0.91 < 0.92 (2 runs, mean 0.93); "
            "failing: hard_alibi/copy/seed1");
}

TEST(Judge, AtMostUsesTheHighestRun) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
runs = "mamba/copy/seed0"
length = "2x"
at_most = 0.01
)",
                                    kRuns);
  EXPECT_TRUE(verdicts[0].passed);
  EXPECT_EQ(verdicts[0].description,
            "mamba/copy/seed0 accuracy on copy at length 2x (16): 0 <= 0.01 (1 run)");
}

TEST(Judge, AGlobThatMatchesNoRunFails) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
runs = "hard_alibbi*"
length = 16
at_least = 0.0
)",
                                    kRuns);
  EXPECT_FALSE(verdicts[0].passed);
  EXPECT_THAT(verdicts[0].description, HasSubstr("no run matches 'hard_alibbi*'"));
}

TEST(Judge, AMatchingRunWithoutRecordsFails) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
runs = "mamba*"
length = 8
at_least = 0.5
)",
                                    kRuns, {"mamba/copy/seed2", "lstm/copy/seed0"});
  EXPECT_FALSE(verdicts[0].passed);
  EXPECT_THAT(verdicts[0].description,
              HasSubstr("1 run matching 'mamba*' not run (no record file): mamba/copy/seed2"));
}

TEST(Judge, MissingLengthFailsAndListsWhatWasEvaluated) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
runs = "mamba*"
length = "3x"
at_least = 0.5
)",
                                    kRuns);
  EXPECT_FALSE(verdicts[0].passed);
  EXPECT_THAT(verdicts[0].description,
              HasSubstr("mamba/copy/seed0 has no accuracy on copy at length 24 (evaluated: 8, 16, "
                        "32)"));
  const auto other_task = verdicts_of(R"(
[[expect]]
task = "dedup"
length = 8
at_least = 0.5
)",
                                      kRuns);
  EXPECT_THAT(other_task[0].description,
              HasSubstr("has no accuracy on dedup at length 8 (it has no evaluation on dedup)"));
}

TEST(Judge, TwoXResolvesAgainstEachRunsTrainingLength) {
  std::vector<RunRecords> runs = {run("a/copy/seed0", 8, {{16, 0.9}}),
                                  run("b/copy/seed0", 4, {{8, 0.8}})};
  const auto verdicts = verdicts_of(R"(
[[expect]]
length = "2x"
at_least = 0.75
)",
                                    runs);
  EXPECT_TRUE(verdicts[0].passed);
  // The resolved length differs between the runs, so it is not shown.
  EXPECT_EQ(verdicts[0].description,
            "* accuracy on copy at length 2x: lowest 0.8 >= 0.75 (2 runs, mean 0.85)");
}

TEST(Judge, ExamplesToNeverReachedIsInfinite) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
runs = "mamba*"
metric = "examples_to"
threshold = 0.9
at_most = 10000

[[expect]]
runs = "hard_alibi*"
metric = "examples_to"
threshold = 0.9
at_most = 10000
)",
                                    kRuns);
  EXPECT_FALSE(verdicts[0].passed);
  EXPECT_EQ(verdicts[0].description,
            "mamba* examples to 90%: highest never > 10000 (2 runs, mean never); failing: "
            "mamba/copy/seed1");
  EXPECT_TRUE(verdicts[1].passed);
  EXPECT_EQ(verdicts[1].description,
            "hard_alibi* examples to 90%: highest 3000 <= 10000 (2 runs, mean 2500)");
}

TEST(Judge, ComparisonByComparesMeans) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
better = "hard_alibi*"
worse = "mamba*"
length = "2x"
by = 0.5

[[expect]]
better = "hard_alibi*"
worse = "mamba*"
length = 8
by = 0.05
)",
                                    kRuns);
  EXPECT_TRUE(verdicts[0].passed);
  EXPECT_EQ(verdicts[0].description,
            "hard_alibi* vs mamba* accuracy on copy at length 2x (16): 0.93 - 0.01 = 0.92 >= 0.5 "
            "(means of 2 and 2 runs)");
  EXPECT_FALSE(verdicts[1].passed);
  EXPECT_EQ(verdicts[1].description,
            "hard_alibi* vs mamba* accuracy on copy at length 8: 1 - 0.98 = 0.02 < 0.05 (means of "
            "2 and 2 runs)");
}

TEST(Judge, ComparisonFactorCountsAWorseRunThatNeverGotThereAtTheExamplesItSaw) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
better = "hard_alibi*"
worse = "mamba*"
metric = "examples_to"
threshold = 0.9
factor = 4

[[expect]]
better = "hard_alibi*"
worse = "mamba*"
metric = "examples_to"
threshold = 0.9
factor = 5

[[expect]]
better = "mamba*"
worse = "hard_alibi*"
metric = "examples_to"
threshold = 0.9
factor = 0.1

[[expect]]
better = "hard_alibi/copy/seed1"
worse = "hard_alibi/copy/seed0"
metric = "examples_to"
threshold = 0.9
factor = 1

[[expect]]
better = "mamba*"
worse = "mamba/copy/seed1"
metric = "examples_to"
threshold = 0.9
factor = 1
)",
                                    kRuns);
  // mamba's seed1 never gets there in its 20000 examples: the worse side needed at least
  // (500 + 20000) / 2 on average, which is enough for a factor of 4 but not for 5.
  EXPECT_TRUE(verdicts[0].passed);
  EXPECT_EQ(verdicts[0].description,
            "hard_alibi* vs mamba* examples to 90%: at least 10250 / 2500 = 4.1 >= 4 (worse / "
            "better, means of 2 and 2 runs; mamba/copy/seed1 never got there, counted at the "
            "examples it saw)");
  EXPECT_FALSE(verdicts[1].passed);
  EXPECT_THAT(verdicts[1].description,
              HasSubstr("at least 10250 / 2500 = 4.1 < 5 (worse / better, means of 2 and 2 runs; "
                        "mamba/copy/seed1 never got there, counted at the examples it saw): train "
                        "mamba* longer to decide"));
  // A better side that never gets there cannot be faster by any factor.
  EXPECT_FALSE(verdicts[2].passed);
  EXPECT_THAT(verdicts[2].description,
              HasSubstr("2500 / never = 0 < 0.1 (worse / better, means of 2 and 2 runs; "
                        "mamba/copy/seed1 never got there, so mamba* is faster by no factor)"));
  EXPECT_FALSE(verdicts[3].passed);
  EXPECT_THAT(verdicts[3].description, HasSubstr("2000 / 3000 = 0.6667 < 1"));
  // Both sides short of the threshold: longer training of the worse side alone decides nothing.
  EXPECT_FALSE(verdicts[4].passed);
  EXPECT_THAT(verdicts[4].description,
              HasSubstr("at least 20000 / never = 0 < 1 (worse / better, means of 2 and 1 runs; "
                        "mamba/copy/seed1 never got there, counted at the examples it saw; "
                        "mamba/copy/seed1 never got there, so mamba* is faster by no factor)"));
  EXPECT_THAT(verdicts[4].description, Not(HasSubstr("longer to decide")));
}

TEST(Judge, ComparisonWithAnEmptySideFails) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
better = "hard_alibi*"
worse = "lstm*"
length = 8
by = 0
)",
                                    kRuns);
  EXPECT_FALSE(verdicts[0].passed);
  EXPECT_THAT(verdicts[0].description, HasSubstr("no run matches 'lstm*'"));
}

TEST(Judge, LongestLengthAgainstAMultipleOfTheTrainingLength) {
  const auto verdicts = verdicts_of(R"(
[[expect]]
runs = "hard_alibi*"
metric = "longest_length"
threshold = 0.9
at_least = "2x"

[[expect]]
runs = "mamba*"
metric = "longest_length"
threshold = 0.9
at_least = "2x"

[[expect]]
better = "hard_alibi*"
worse = "mamba*"
metric = "longest_length"
threshold = 0.9
by = 8
)",
                                    kRuns);
  EXPECT_TRUE(verdicts[0].passed);
  EXPECT_EQ(verdicts[0].description,
            "hard_alibi* longest length reaching 0.9 accuracy on copy: lowest 16 >= 2x = 16 (2 "
            "runs, mean 16)");
  EXPECT_FALSE(verdicts[1].passed);
  EXPECT_THAT(verdicts[1].description, HasSubstr("lowest 8 < 2x = 16"));
  EXPECT_TRUE(verdicts[2].passed);
  EXPECT_THAT(verdicts[2].description, HasSubstr("16 - 8 = 8 >= 8"));
}

}  // namespace
}  // namespace parrot
