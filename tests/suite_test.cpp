// Suite loading: expansion into runs, stable ids, overrides, and every kind of bad input with
// its location.

#include "suite.hpp"
#include "test_support.hpp"

#include <parrot/error.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace parrot {
namespace {

using ::testing::HasSubstr;

const std::string kTwoArchitectures = R"(
seeds = [0, 1]

[train]
min_length = 2
max_length = 5
context_length = 40
steps = 10

[eval]
lengths = [5, 10]

[architectures.hard]
component = "transformer"
positional = "hard_alibi"
layers = 1
d_model = 16

[architectures.nope]
component = "transformer"
positional = "nope"
layers = 1
d_model = 16
[architectures.nope.train]
learning_rate = 0.01
)";

class SuiteTest : public ::testing::Test {
 protected:
  Suite load(const std::string& text) { return load_suite(dir_.write("suite.toml", text)); }

  std::string error_of(const std::string& text) {
    try {
      load(text);
    } catch (const InputError& error) {
      return error.what();
    }
    return "no error";
  }

  test::TempDir dir_;
};

TEST_F(SuiteTest, ExpandsArchitecturesTimesSeedsInFileOrder) {
  const Suite suite = load(kTwoArchitectures);
  EXPECT_EQ(suite.name, "suite");
  ASSERT_EQ(suite.runs.size(), 4u);
  EXPECT_EQ(suite.runs[0].name, "hard/copy/seed0");
  EXPECT_EQ(suite.runs[1].name, "hard/copy/seed1");
  EXPECT_EQ(suite.runs[2].name, "nope/copy/seed0");
  EXPECT_EQ(suite.runs[0].architecture.params.string("positional"), "hard_alibi");
  EXPECT_EQ(suite.runs[0].eval.lengths, (std::vector<int64_t>{5, 10}));
  EXPECT_EQ(suite.runs[0].eval.curve_lengths, (std::vector<int64_t>{5}));  // default: max_length
  std::set<std::string> ids;
  for (const auto& run : suite.runs) {
    EXPECT_EQ(run.id.size(), 16u);
    ids.insert(run.id);
  }
  EXPECT_EQ(ids.size(), 4u);
}

TEST_F(SuiteTest, PerArchitectureTrainTableOverridesOnlyThatArchitecture) {
  const Suite suite = load(kTwoArchitectures);
  EXPECT_DOUBLE_EQ(suite.runs[0].train.learning_rate, 1e-3);
  EXPECT_DOUBLE_EQ(suite.runs[2].train.learning_rate, 0.01);
  EXPECT_EQ(suite.runs[2].train.max_length, 5);  // inherited from [train]
}

TEST_F(SuiteTest, RunIdsAreStableWhenUnrelatedEntriesAreAdded) {
  const std::string id = load(kTwoArchitectures).runs[0].id;
  const Suite more =
      load(kTwoArchitectures + "\n[architectures.extra]\ncomponent = \"transformer\"\n");
  EXPECT_EQ(more.runs.size(), 6u);
  EXPECT_EQ(more.runs[0].id, id);
  // ... and change when the run's own configuration changes.
  std::string changed = kTwoArchitectures;
  changed.replace(changed.find("d_model = 16"), 12, "d_model = 32");
  EXPECT_NE(load(changed).runs[0].id, id);
}

// A key added after results were published enters a run's id only when set away from its
// default, so a suite that does not set it keeps its ids.
TEST_F(SuiteTest, DeterministicEntersTheRunIdOnlyWhenOn) {
  const Suite plain = load(kTwoArchitectures);
  EXPECT_FALSE(plain.runs[0].train.deterministic);
  EXPECT_FALSE(plain.runs[0].config.at("train").contains("deterministic"));
  std::string with = kTwoArchitectures;
  with.replace(with.find("steps = 10"), 10, "steps = 10\ndeterministic = false");
  EXPECT_EQ(load(with).runs[0].id, plain.runs[0].id);
  with.replace(with.find("deterministic = false"), 21, "deterministic = true");
  const Suite on = load(with);
  EXPECT_TRUE(on.runs[0].train.deterministic);
  EXPECT_EQ(on.runs[0].config.at("train").at("deterministic"), true);
  EXPECT_NE(on.runs[0].id, plain.runs[0].id);
}

// A run's id hashes its whole resolved configuration, defaults included (keys added later
// aside, as above), so a new [train] key or a changed default gives every run a new id: `suite run`
// would train the published results again and `suite report` would not find them. Each folder under
// docs/results/ names the suite it came from and the ids of its runs; loading that suite today must
// give the same runs.
TEST(PublishedResults, EachSuiteStillGivesItsPublishedRunsTheirIds) {
  const std::filesystem::path source = PARROT_SOURCE_DIR;
  int folders = 0;
  for (const auto& entry : std::filesystem::directory_iterator(source / "docs" / "results")) {
    const auto listing = entry.path() / "suite.json";
    if (!std::filesystem::exists(listing)) continue;
    ++folders;
    const auto published = nlohmann::json::parse(std::ifstream(listing));
    std::map<std::string, std::string> published_ids, ids;
    for (const auto& run : published.at("runs"))
      published_ids[run.at("name").get<std::string>()] = run.at("run_id").get<std::string>();
    for (const auto& run : load_suite(source / published.at("file").get<std::string>()).runs)
      ids[run.name] = run.id;
    EXPECT_EQ(ids, published_ids) << entry.path() << " against " << published.at("file");
  }
  EXPECT_GE(folders, 6);  // the paper's suites
}

TEST_F(SuiteTest, MalformedTomlGivesFileLineColumn) {
  const std::string error = error_of("[train]\nsteps = = 3\n");
  EXPECT_THAT(error, HasSubstr("suite.toml:2:"));
  EXPECT_THAT(error, HasSubstr("malformed TOML"));
}

TEST_F(SuiteTest, UnknownSuiteKeySuggests) {
  EXPECT_THAT(error_of("seed = [1]\n"),
              HasSubstr("unknown suite key 'seed' (did you mean 'seeds'?)"));
}

TEST_F(SuiteTest, UnknownComponentIsLocatedAndSuggests) {
  const std::string error = error_of("[architectures.x]\ncomponent = \"transformr\"\n");
  EXPECT_THAT(error, HasSubstr("suite.toml:2:13"));
  EXPECT_THAT(error, HasSubstr("unknown architecture 'transformr' (did you mean 'transformer'?)"));
  EXPECT_THAT(error_of("[train]\ntask = \"cpy\"\n[architectures.transformer]\n"),
              HasSubstr("did you mean 'copy'?"));
}

TEST_F(SuiteTest, UnknownParameterAndWrongTypeAreLocated) {
  EXPECT_THAT(error_of("[architectures.x]\ncomponent = \"transformer\"\nhead = 2\n"),
              HasSubstr("suite.toml:3:1: architecture 'x' (transformer): unknown parameter 'head' "
                        "(did you mean 'heads'?)"));
  EXPECT_THAT(error_of("[train]\nsteps = 1.5\n[architectures.transformer]\n"),
              HasSubstr("suite.toml:2:9: [train]: steps: must be an int, got a float"));
}

TEST_F(SuiteTest, LengthRangesMustBeNonEmptyAndFitTheTask) {
  const std::string arch = "[architectures.transformer]\n";
  EXPECT_THAT(error_of("[train]\nmin_length = 6\nmax_length = 5\n" + arch),
              HasSubstr("max_length = 5: the length range is empty"));
  EXPECT_THAT(error_of("[train]\nmin_length = -1\n" + arch),
              HasSubstr("min_length = -1: length -1 does not fit task 'copy'"));
  EXPECT_THAT(
      error_of("[eval]\nlengths = [4, 0]\n" + arch),
      HasSubstr("suite.toml:2:11: [eval]: lengths = [4, 0]: length 0 does not fit task 'copy'"));
}

TEST_F(SuiteTest, TrainingExamplesMustFitARow) {
  EXPECT_THAT(
      error_of("[train]\nmax_length = 300\ncontext_length = 220\n[architectures.transformer]\n"),
      HasSubstr("an example of length 300 takes 603 tokens"));
}

TEST_F(SuiteTest, FactoryRejectionsAreInputErrorsAtTheParameter) {
  EXPECT_THAT(error_of("[architectures.x]\ncomponent = \"transformer\"\nd_model = 10\nheads = 3\n"),
              HasSubstr("suite.toml:4:9"));
}

TEST_F(SuiteTest, ASuiteNeedsAnArchitecture) {
  EXPECT_THAT(error_of("seeds = [0]\n"), HasSubstr("the suite names no architecture"));
}

TEST_F(SuiteTest, MissingFileIsAnInputError) {
  EXPECT_THROW(load_suite(dir_.path() / "absent.toml"), InputError);
}

}  // namespace
}  // namespace parrot
