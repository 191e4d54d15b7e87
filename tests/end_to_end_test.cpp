// The `suite` binary as a user runs it: a Transformer learns to copy, records land on disk, a
// re-run skips finished runs, and bad input exits 2 leaving nothing behind.

#include "test_support.hpp"

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>

namespace parrot {
namespace {

using ::testing::HasSubstr;

struct Outcome {
  int exit_code;
  std::string output;  // stdout and stderr together
};

Outcome suite(const std::string& arguments) {
  const std::string command = std::string(PARROT_SUITE_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::vector<nlohmann::json> read_records(const std::filesystem::path& file) {
  std::vector<nlohmann::json> records;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

// Files under `folder` (with that extension, if given).
std::vector<std::filesystem::path> files_in(const std::filesystem::path& folder,
                                            const std::string& extension = "") {
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::exists(folder)) return files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder))
    if (entry.is_regular_file() && (extension.empty() || entry.path().extension() == extension))
      files.push_back(entry.path());
  return files;
}

const std::string kTinySuite = std::string(PARROT_TEST_SUITES_DIR) + "/tiny_copy.toml";

TEST(EndToEnd, ATransformerLearnsToCopyAndTheRecordsSaySo) {
  test::TempDir dir;
  const Outcome first = suite("run " + kTinySuite + " --device cpu --out " + dir.path().string());
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("tiny_copy: string accuracy at each evaluation length"));

  const auto files = files_in(dir.path(), ".jsonl");
  ASSERT_EQ(files.size(), 1u) << first.output;
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "suite.json"));
  const auto records = read_records(files[0]);
  ASSERT_FALSE(records.empty());
  const auto& run = records[0];
  EXPECT_EQ(run["record"], "run");
  EXPECT_EQ(files[0].stem().string(), run["run_id"].get<std::string>());
  EXPECT_EQ(run["config"]["architecture"]["params"]["positional"], "hard_alibi");
  EXPECT_EQ(run["config"]["train"]["max_length"], 5);
  EXPECT_GT(run["parameters"].get<int64_t>(), 0);
  EXPECT_GT(run["tokens_per_second"].get<double>(), 0);
  EXPECT_GT(run["wall_seconds"].get<double>(), 0);
  EXPECT_LT(run["state_bits"]["5"].get<int64_t>(), run["state_bits"]["10"].get<int64_t>());
  EXPECT_FALSE(run["examples_to"]["0.9"].is_null()) << "never reached 90%: " << first.output;

  int64_t curve_points = 0, last_examples = 0;
  std::map<int64_t, double> accuracy;
  for (const auto& record : records) {
    if (record["record"] == "curve") {
      ++curve_points;
      EXPECT_GT(record["examples_seen"].get<int64_t>(), last_examples);
      last_examples = record["examples_seen"].get<int64_t>();
    } else if (record["record"] == "length") {
      EXPECT_EQ(record["examples"], 256);
      accuracy[record["length"].get<int64_t>()] = record["string_accuracy"].get<double>();
    }
  }
  EXPECT_GE(curve_points, 4);
  ASSERT_EQ(accuracy.size(), 3u);
  EXPECT_GE(accuracy[3], 0.9) << first.output;
  EXPECT_GE(accuracy[5], 0.9) << first.output;

  // A second run finds the record and trains nothing.
  const auto written = std::filesystem::last_write_time(files[0]);
  const Outcome second = suite("run " + kTinySuite + " --device cpu --out " + dir.path().string());
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("finished earlier"));
  EXPECT_EQ(std::filesystem::last_write_time(files[0]), written);
  EXPECT_THAT(second.output, HasSubstr("hard_alibi"));  // the table still lists it
}

TEST(EndToEnd, BadInputExitsTwoWithOneLocatedLineAndWritesNothing) {
  test::TempDir dir;
  const auto results = dir.path() / "results";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[train]\nsteps = = 1\n", "bad.toml:2:"},
      {"[architectures.x]\ncomponent = \"lstmm\"\n", "unknown architecture 'lstmm'"},
      {"[architectures.x]\ncomponent = \"transformer\"\nlayer = 1\n", "did you mean 'layers'?"},
      {"[architectures.x]\ncomponent = \"transformer\"\nlayers = \"1\"\n", "must be an int"},
      {"[train]\nmin_length = 4\nmax_length = 2\n[architectures.transformer]\n", "range is empty"},
      {"[eval]\nlengths = [-3]\n[architectures.transformer]\n", "does not fit task 'copy'"},
  };
  for (const auto& [text, expected] : cases) {
    const auto file = dir.write("bad.toml", text);
    const Outcome outcome = suite("run " + file.string() + " --out " + results.string());
    EXPECT_EQ(outcome.exit_code, 2) << text << "\n" << outcome.output;
    EXPECT_THAT(outcome.output, HasSubstr("suite: error: "));
    EXPECT_THAT(outcome.output, HasSubstr(expected));
    EXPECT_EQ(std::count(outcome.output.begin(), outcome.output.end(), '\n'), 1) << outcome.output;
    EXPECT_TRUE(files_in(results).empty()) << text;
  }
  EXPECT_EQ(suite("run " + (dir.path() / "missing.toml").string()).exit_code, 2);
  EXPECT_EQ(suite("frobnicate").exit_code, 2);
}

TEST(EndToEnd, AFailedExpectationExitsOneFromRunAndFromReport) {
  test::TempDir dir;
  const std::string expect =
      " --set 'expect=[{runs = \"hard*\", metric = \"accuracy\", length = 3, at_least = 0.99}]'";
  const Outcome run = suite("run " + kTinySuite + " --device cpu --set train.steps=20" + expect +
                            " --out " + dir.path().string());
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("expectations: 0 of 1 passed"));
  EXPECT_THAT(run.output, HasSubstr("FAIL --set expect="));
  EXPECT_THAT(run.output, HasSubstr("hard* accuracy on copy at length 3"));

  if (const std::string why = test::report_html_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const Outcome report = suite("report " + dir.path().string());
  EXPECT_EQ(report.exit_code, 1) << report.output;
  for (const char* file : {"report.md", "report.html", "runs.csv", "curves.csv", "junit.xml"})
    EXPECT_TRUE(std::filesystem::exists(dir.path() / file)) << file;
  EXPECT_EQ(suite("report " + (dir.path() / "absent").string()).exit_code, 2);
}

TEST(EndToEnd, BenchTimesEveryRunAtEveryShapeAndWritesNothingElse) {
  test::TempDir dir;
  const auto json = dir.path() / "bench.json";
  const Outcome bench = suite("bench " + kTinySuite +
                              " --device cpu --shape 2x16 --shape 4x32 --steps 2 --warmup 1"
                              " --out " +
                              (dir.path() / "results").string() + " --json " + json.string());
  ASSERT_EQ(bench.exit_code, 0) << bench.output;
  EXPECT_THAT(bench.output, HasSubstr("ms/step"));
  EXPECT_THAT(bench.output, HasSubstr("hard_alibi/copy/seed0  2x16"));
  EXPECT_THAT(bench.output, HasSubstr("hard_alibi/copy/seed0  4x32"));
  std::ifstream in(json);
  const nlohmann::json rows = nlohmann::json::parse(in);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["batch_size"], 4);
  EXPECT_EQ(rows[1]["context_length"], 32);
  for (const auto& row : rows) {
    EXPECT_GT(row["step_ms"].get<double>(), 0);
    EXPECT_NEAR(row["tokens_per_second"].get<double>(),
                1e3 * row["batch_size"].get<double>() * row["context_length"].get<double>() /
                    row["step_ms"].get<double>(),
                1e-6 * row["tokens_per_second"].get<double>());
    EXPECT_EQ(row["mode"], "eager");
    EXPECT_TRUE(row["peak_memory_bytes"].is_null());  // counted on CUDA only
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "results")) << "bench writes no results";

  const Outcome bad = suite("bench " + kTinySuite + " --device cpu --shape 8by220");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("--shape '8by220': expected <rows>x<tokens>"));
}

// PyTorch's LibTorch has Kineto, the profiler's tracing library, and writes the trace; Debian's
// has none, and the command must say so rather than fail obscurely.
TEST(EndToEnd, BenchProfileWritesATraceAndItsKernelsOrSaysWhyNot) {
  test::TempDir dir;
  const Outcome bench =
      suite("bench " + kTinySuite + " --device cpu --shape 2x16 --steps 1 --warmup 1 --profile " +
            (dir.path() / "traces").string());
  const auto trace = dir.path() / "traces" / "hard_alibi_copy_seed0_2x16.json";
  if (bench.exit_code == 0) {
    EXPECT_THAT(bench.output, HasSubstr("CPU operators, own time"));
    EXPECT_THAT(bench.output, HasSubstr("aten::"));
    std::ifstream in(trace);
    ASSERT_TRUE(in) << trace;
    EXPECT_TRUE(nlohmann::json::parse(in).contains("traceEvents"));
  } else {
    EXPECT_EQ(bench.exit_code, 2) << bench.output;
    EXPECT_THAT(bench.output, HasSubstr("this LibTorch was built without Kineto"));
  }
}

TEST(EndToEnd, ValidateAndListDescribeWithoutRunning) {
  const Outcome validate = suite("validate " + kTinySuite);
  EXPECT_EQ(validate.exit_code, 0) << validate.output;
  EXPECT_THAT(validate.output, HasSubstr("ok, 1 runs"));
  EXPECT_THAT(validate.output, HasSubstr("hard_alibi/copy/seed0"));

  const Outcome list = suite("list");
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_THAT(list.output, HasSubstr("architecture transformer"));
  EXPECT_THAT(list.output, HasSubstr("positional"));
  EXPECT_THAT(list.output, HasSubstr("task copy"));
  EXPECT_THAT(list.output, HasSubstr("alphabet  int  26"));
}

}  // namespace
}  // namespace parrot
