// `suite report` on a hand-made results folder (records as docs/results.md describes them):
// reading it, CSV rows and values, Wilson intervals, the Markdown summary, JUnit XML, and the
// exit code the CLI gets.

#include "report.hpp"
#include "report_csv.hpp"
#include "report_folder.hpp"
#include "report_format.hpp"
#include "report_html.hpp"
#include "report_junit.hpp"
#include "report_markdown.hpp"
#include "report_statistics.hpp"
#include "test_support.hpp"

#include <parrot/error.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <tuple>

namespace parrot {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const double kCopyBits8 = 8 * std::log2(26.0);  // what copy needs at length 8: L log2 D
const nlohmann::json kNeverReached = {{"0.5", nullptr}, {"0.9", nullptr}, {"0.99", nullptr}};

nlohmann::json run_record(const std::string& id, const std::string& name,
                          const std::string& architecture, int64_t seed,
                          const nlohmann::json& examples_to,
                          const nlohmann::json& sweep = nlohmann::json::object()) {
  return {{"record", "run"},
          {"run_id", id},
          {"name", name},
          {"architecture", architecture},
          {"task", "copy"},
          {"eval_tasks", {"copy"}},
          {"seed", seed},
          {"sweep", sweep},
          {"max_train_length", 8},
          {"config",
           {{"architecture", architecture},
            {"train", {{"steps", 100}, {"examples", 0}}},
            {"eval", {{"curve_points", 3}}}}},  // curve after steps 1, 10 and 100
          {"parameters", architecture == "mamba" ? 69300 : 104000},
          {"state_bits", {{"8", 4096}, {"16", 8192}}},
          {"steps", 100},
          {"examples_seen", 3200},
          {"stopped_early", false},
          {"examples_to", examples_to},
          {"train_seconds", 12.5},
          {"wall_seconds", 13.25},
          {"tokens_per_second", 50000.0},
          {"device", "cpu"},
          {"torch_version", "2.1.0"}};
}

nlohmann::json length_record(int64_t length, int64_t state_bits, int64_t correct,
                             double char_accuracy, const std::string& task = "copy") {
  return {{"record", "length"},
          {"task", task},
          {"length", length},
          {"state_bits", state_bits},
          {"memory_bits", length * std::log2(26.0)},
          {"examples", 64},
          {"strings_correct", correct},
          {"string_accuracy", correct / 64.0},
          {"char_accuracy", char_accuracy}};
}

nlohmann::json curve_record(int64_t step, int64_t examples_seen, int64_t correct) {
  return {{"record", "curve"},
          {"step", step},
          {"examples_seen", examples_seen},
          {"loss", 0.5},
          {"task", "copy"},
          {"length", 8},
          {"examples", 64},
          {"strings_correct", correct},
          {"string_accuracy", correct / 64.0},
          {"char_accuracy", 0.75}};
}

void write_records(const test::TempDir& dir, const std::string& id,
                   const std::vector<nlohmann::json>& records) {
  std::string text;
  for (const auto& record : records) text += record.dump() + "\n";
  dir.write(id + ".jsonl", text);
}

// Two seeds each of Hard-ALiBi and Mamba trained on copy up to length 8, evaluated at 8 and 16;
// an LSTM run the suite lists but that never finished.
class DemoFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    write_records(dir_, "a0",
                  {run_record("a0", "hard_alibi/copy/seed0", "hard_alibi", 0,
                              {{"0.5", 3200}, {"0.9", 3200}, {"0.99", 3200}}),
                   curve_record(10, 320, 6), curve_record(100, 3200, 64),
                   length_record(8, 4096, 64, 1.0), length_record(16, 8192, 60, 0.99)});
    write_records(dir_, "a1",
                  {run_record("a1", "hard_alibi/copy/seed1", "hard_alibi", 1,
                              {{"0.5", 3000}, {"0.9", 3400}, {"0.99", nullptr}}),
                   curve_record(10, 300, 10), curve_record(100, 3400, 62),
                   length_record(8, 4096, 64, 1.0), length_record(16, 8192, 56, 0.98)});
    write_records(dir_, "m0",
                  {run_record("m0", "mamba/copy/seed0", "mamba", 0,
                              {{"0.5", 320}, {"0.9", 3200}, {"0.99", nullptr}}),
                   curve_record(10, 320, 40), curve_record(100, 3200, 62),
                   length_record(8, 40, 62, 0.99), length_record(16, 40, 0, 0.3)});
    write_records(dir_, "m1",
                  {run_record("m1", "mamba/copy/seed1", "mamba", 1,
                              {{"0.5", 320}, {"0.9", 3200}, {"0.99", nullptr}}),
                   curve_record(10, 320, 38), curve_record(100, 3200, 60),
                   length_record(8, 40, 60, 0.98), length_record(16, 40, 1, 0.31)});
    dir_.write("a0.jsonl.tmp.12345", "{\"half\": ");  // a writer that died mid-file
    dir_.write("notes.txt", "not a record");
    write_suite_json(R"([
      {"where": "suite.toml:20:1", "runs": "hard_alibi*", "metric": "accuracy", "length": "2x",
       "at_least": 0.85},
      {"where": "suite.toml:26:1", "better": "hard_alibi*", "worse": "mamba*",
       "metric": "accuracy", "length": 16, "by": 0.95}])");
  }

  void write_suite_json(const std::string& expectations) {
    dir_.write("suite.json", R"({"suite": "demo", "file": "suites/demo.toml", "expectations": )" +
                                 expectations + R"(, "runs": [
      {"run_id": "a0", "name": "hard_alibi/copy/seed0"},
      {"run_id": "a1", "name": "hard_alibi/copy/seed1"},
      {"run_id": "m0", "name": "mamba/copy/seed0"},
      {"run_id": "m1", "name": "mamba/copy/seed1"},
      {"run_id": "l0", "name": "lstm/copy/seed0"}]})");
  }

  std::string error_of_loading() {
    try {
      load_results(dir_.path());
    } catch (const InputError& error) {
      return error.what();
    }
    return "no error";
  }

  test::TempDir dir_;
};

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(cell);
      cell.clear();
    } else if (c == '\n') {
      rows.back().push_back(cell);
      cell.clear();
      rows.emplace_back();
    } else {
      cell += c;
    }
  }
  rows.pop_back();  // after the last line break
  return rows;
}

// A CSV row as column -> cell.
std::map<std::string, std::string> row_of(const std::vector<std::vector<std::string>>& table,
                                          size_t row) {
  std::map<std::string, std::string> cells;
  for (size_t i = 0; i < table[0].size(); ++i) cells[table[0][i]] = table[row].at(i);
  return cells;
}

TEST_F(DemoFolder, LoadsRunsInSuiteOrderAndListsTheMissingOne) {
  const ResultsFolder results = load_results(dir_.path());
  EXPECT_EQ(results.suite, "demo");
  EXPECT_EQ(results.suite_file, "suites/demo.toml");
  ASSERT_EQ(results.runs.size(), 4u);
  EXPECT_EQ(results.runs[0].name, "hard_alibi/copy/seed0");
  EXPECT_EQ(results.runs[3].name, "mamba/copy/seed1");
  EXPECT_EQ(results.runs[1].examples_to.at(0.99), std::nullopt);
  EXPECT_EQ(results.runs[1].examples_to.at(0.9), 3400);
  ASSERT_EQ(results.runs[2].lengths.size(), 2u);
  EXPECT_EQ(results.runs[2].lengths[1].strings_correct, 0);
  EXPECT_NEAR(*results.runs[2].lengths[1].memory_bits, 2 * kCopyBits8, 1e-9);
  EXPECT_EQ(results.runs[0].curve.size(), 2u);
  ASSERT_EQ(results.not_run.size(), 1u);
  EXPECT_EQ(results.not_run[0].run_id, "l0");
  EXPECT_EQ(results.not_run[0].name, "lstm/copy/seed0");
  ASSERT_EQ(results.expectations.size(), 2u);
  EXPECT_EQ(results.expectations[0].where, "suite.toml:20:1");
  EXPECT_TRUE(results.unlisted.empty());
}

TEST_F(DemoFolder, RecordFilesTheSuiteNoLongerListsAreLeftOut) {
  write_records(dir_, "old", {run_record("old", "rope/copy/seed0", "rope", 0, kNeverReached)});
  const ResultsFolder results = load_results(dir_.path());
  EXPECT_EQ(results.runs.size(), 4u);
  ASSERT_EQ(results.unlisted.size(), 1u);
  EXPECT_EQ(results.unlisted[0].filename(), "old.jsonl");
}

TEST_F(DemoFolder, WithoutSuiteJsonEveryRecordFileCountsSortedByName) {
  std::remove((dir_.path() / "suite.json").c_str());
  const ResultsFolder results = load_results(dir_.path());
  EXPECT_FALSE(results.has_suite_json);
  EXPECT_EQ(results.suite, dir_.path().filename().string());
  EXPECT_EQ(results.runs.size(), 4u);
  EXPECT_EQ(results.runs[0].name, "hard_alibi/copy/seed0");
  EXPECT_TRUE(results.expectations.empty());
  EXPECT_TRUE(results.not_run.empty());
}

TEST_F(DemoFolder, AMalformedLineFailsWithFileAndLine) {
  dir_.write("m1.jsonl", run_record("m1", "mamba/copy/seed1", "mamba", 1, kNeverReached).dump() +
                             "\n" + curve_record(10, 320, 38).dump() +
                             "\n{\"record\": \"length\",\n");
  EXPECT_THAT(error_of_loading(), HasSubstr("m1.jsonl:3: not a JSON record"));
}

TEST_F(DemoFolder, AMissingOrMistypedFieldIsNamed) {
  nlohmann::json run = run_record("m1", "mamba/copy/seed1", "mamba", 1, kNeverReached);
  run.erase("max_train_length");
  write_records(dir_, "m1", {run});
  EXPECT_THAT(error_of_loading(), HasSubstr("m1.jsonl:1: run record lacks 'max_train_length'"));

  run = run_record("m1", "mamba/copy/seed1", "mamba", 1, kNeverReached);
  run["config"].erase("eval");
  write_records(dir_, "m1", {run});
  EXPECT_THAT(error_of_loading(), HasSubstr("m1.jsonl:1: run record lacks 'config.eval'"));
  run["config"]["eval"] = {{"curve_points", 2.5}};
  write_records(dir_, "m1", {run});
  EXPECT_THAT(error_of_loading(),
              HasSubstr("run record: 'config.eval.curve_points' must be an integer, got 2.5"));

  nlohmann::json length = length_record(8, 40, 60, 0.98);
  length["strings_correct"] = "sixty";
  write_records(dir_, "m1",
                {run_record("m1", "mamba/copy/seed1", "mamba", 1, kNeverReached), length});
  EXPECT_THAT(error_of_loading(),
              HasSubstr("m1.jsonl:2: length record: 'strings_correct' must be an integer, got "
                        "\"sixty\""));

  write_records(
      dir_, "m1",
      {run_record("m1", "mamba/copy/seed1", "mamba", 1, kNeverReached), {{"record", "lenght"}}});
  EXPECT_THAT(error_of_loading(), HasSubstr("m1.jsonl:2: unknown record kind 'lenght'"));

  write_records(dir_, "m1", {run_record("m0", "mamba/copy/seed1", "mamba", 1, kNeverReached)});
  EXPECT_THAT(error_of_loading(), HasSubstr("m1.jsonl:1: run_id 'm0' is not the file's name"));
}

TEST_F(DemoFolder, AMalformedSuiteJsonIsNamed) {
  write_suite_json(R"([{"runs": "*", "length": 8}])");
  EXPECT_THAT(error_of_loading(),
              HasSubstr("suite.json: expectations[0]: [[expect]]: a threshold needs at_least"));
  dir_.write("suite.json", "{\"suite\": ");
  EXPECT_THAT(error_of_loading(), HasSubstr("suite.json: not JSON"));
}

TEST(LoadResults, AMissingFolderIsBadInput) {
  EXPECT_THROW(load_results("/nonexistent/parrot/results"), InputError);
}

TEST(WilsonInterval, MatchesHandComputedValues) {
  // 8 of 10, the textbook example: [0.490, 0.943].
  const Interval textbook = wilson_interval(8, 10);
  EXPECT_NEAR(textbook.low, 0.4902, 1e-4);
  EXPECT_NEAR(textbook.high, 0.9433, 1e-4);
  // (p + z^2/2n) / (1 + z^2/n) -/+ z / (1 + z^2/n) sqrt(p(1-p)/n + z^2/4n^2), z = 1.95996.
  const Interval most = wilson_interval(60, 64);
  EXPECT_NEAR(most.low, 0.850025, 1e-6);
  EXPECT_NEAR(most.high, 0.975429, 1e-6);
  // At 0% and 100% the interval is one-sided and stays inside [0, 1].
  EXPECT_NEAR(wilson_interval(0, 64).low, 0.0, 1e-12);
  EXPECT_NEAR(wilson_interval(0, 64).high, 0.056624, 1e-6);
  EXPECT_NEAR(wilson_interval(64, 64).low, 0.943376, 1e-6);
  EXPECT_EQ(wilson_interval(64, 64).high, 1.0);
  EXPECT_EQ(wilson_interval(0, 0).low, 0.0);
  EXPECT_EQ(wilson_interval(0, 0).high, 1.0);
}

TEST(MemoryBound, BindsOnlyWhenTheStateIsSmallerThanTheTask) {
  EXPECT_EQ(memory_bound(4096, kCopyBits8), 1.0);
  EXPECT_NEAR(memory_bound(30, 32), 0.25, 1e-12);
  EXPECT_NEAR(memory_bound(40, 2 * kCopyBits8), std::exp2(40 - 2 * kCopyBits8), 1e-20);
}

TEST_F(DemoFolder, RunsCsvHasARowPerRunTaskAndLength) {
  const auto table = parse_csv(runs_csv(load_results(dir_.path()).runs));
  ASSERT_EQ(table.size(), 1u + 4 * 2);
  EXPECT_EQ(table[0], (std::vector<std::string>{
                          "run_id", "name", "architecture", "task", "seed", "parameters",
                          "max_train_length", "examples_seen", "eval_task", "length", "state_bits",
                          "memory_bits", "bound", "examples", "strings_correct", "string_accuracy",
                          "wilson_low", "wilson_high", "char_accuracy"}));
  const auto alibi_16 = row_of(table, 2);
  EXPECT_EQ(alibi_16.at("run_id"), "a0");
  EXPECT_EQ(alibi_16.at("name"), "hard_alibi/copy/seed0");
  EXPECT_EQ(alibi_16.at("seed"), "0");
  EXPECT_EQ(alibi_16.at("parameters"), "104000");
  EXPECT_EQ(alibi_16.at("eval_task"), "copy");
  EXPECT_EQ(alibi_16.at("length"), "16");
  EXPECT_EQ(alibi_16.at("state_bits"), "8192");
  EXPECT_EQ(alibi_16.at("bound"), "1");
  EXPECT_EQ(alibi_16.at("strings_correct"), "60");
  EXPECT_EQ(alibi_16.at("string_accuracy"), "0.9375");
  EXPECT_NEAR(std::stod(alibi_16.at("wilson_low")), 0.850025, 1e-6);
  EXPECT_NEAR(std::stod(alibi_16.at("wilson_high")), 0.975429, 1e-6);
  EXPECT_EQ(alibi_16.at("char_accuracy"), "0.99");

  const auto mamba_16 = row_of(table, 6);
  EXPECT_EQ(mamba_16.at("name"), "mamba/copy/seed0");
  EXPECT_NEAR(std::stod(mamba_16.at("memory_bits")), 2 * kCopyBits8, 1e-9);
  EXPECT_NEAR(std::stod(mamba_16.at("bound")), std::exp2(40 - 2 * kCopyBits8), 1e-20);
  EXPECT_EQ(mamba_16.at("string_accuracy"), "0");
}

TEST_F(DemoFolder, CurvesCsvHasARowPerRunAndPoint) {
  const auto table = parse_csv(curves_csv(load_results(dir_.path()).runs));
  ASSERT_EQ(table.size(), 1u + 4 * 2);
  EXPECT_EQ(table[0], (std::vector<std::string>{"run_id", "name", "architecture", "task", "seed",
                                                "step", "examples_seen", "loss", "length",
                                                "examples", "strings_correct", "string_accuracy",
                                                "wilson_low", "wilson_high", "char_accuracy"}));
  const auto first = row_of(table, 3);
  EXPECT_EQ(first.at("run_id"), "a1");
  EXPECT_EQ(first.at("step"), "10");
  EXPECT_EQ(first.at("examples_seen"), "300");
  EXPECT_EQ(first.at("loss"), "0.5");
  EXPECT_EQ(first.at("strings_correct"), "10");
  EXPECT_EQ(first.at("string_accuracy"), "0.15625");
}

TEST(ReportCsv, SweptValuesGetAColumnEachAndCommasAreQuoted) {
  test::TempDir dir;
  write_records(dir, "s0",
                {run_record("s0", "hard_alibi@d_model=64,lr=0.001/copy/seed0", "hard_alibi", 0,
                            kNeverReached, {{"d_model", 64}, {"lr", 0.001}}),
                 length_record(8, 4096, 64, 1.0)});
  write_records(
      dir, "s1",
      {run_record("s1", "say \"hi\"/copy/seed0", "say \"hi\"", 0, kNeverReached, {{"d_model", 32}}),
       length_record(8, 4096, 64, 1.0)});
  const std::string text = runs_csv(load_results(dir.path()).runs);
  EXPECT_THAT(text, HasSubstr("s0,\"hard_alibi@d_model=64,lr=0.001/copy/seed0\",hard_alibi,copy,"
                              "0,64,0.001,104000,"));
  EXPECT_THAT(text, HasSubstr("s1,\"say \"\"hi\"\"/copy/seed0\",\"say \"\"hi\"\"\",copy,0,32,,"));
  const auto table = parse_csv(text);
  EXPECT_EQ(table[0][5], "sweep.d_model");
  EXPECT_EQ(table[0][6], "sweep.lr");
  EXPECT_EQ(row_of(table, 2).at("name"), "say \"hi\"/copy/seed0");
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

TEST_F(DemoFolder, MarkdownGroupsSeedsWithPooledIntervals) {
  const ResultsFolder results = load_results(dir_.path());
  const auto verdicts = judge(results.expectations, results.runs, results.not_run_names());
  const std::string markdown = markdown_report(results, verdicts);
  EXPECT_THAT(markdown, HasSubstr("# parrot report: demo\n\n4 runs finished, 1 not run. "
                                  "Expectations: 1 passed, 1 failed. Suite file: "
                                  "`suites/demo.toml`.\n"));
  EXPECT_THAT(markdown, HasSubstr("## Trained on copy"));
  // Examples to 90% is the mean over seeds; a seed that never got to 99% says so.
  EXPECT_THAT(markdown,
              HasSubstr("| hard_alibi | 2 | 104k | 8 | 3.2k | 3.1k | 3.3k | never in 1/2 seeds |"));
  EXPECT_THAT(markdown, HasSubstr("| mamba | 2 | 69.3k | 8 | 3.2k | 320 | 3.2k | never |"));
  // Accuracy at 16: mean of 60/64 and 56/64; the interval pools 116 of 128 examples.
  EXPECT_THAT(markdown, HasSubstr("| architecture | L=8 | L=16* |"));
  EXPECT_THAT(markdown, HasSubstr("| hard_alibi | 1.00 [0.97, 1.00] | 0.91 [0.84, 0.95] |"));
  EXPECT_THAT(markdown, HasSubstr("| mamba | 0.95 [0.90, 0.98] | 0.01 [0.00, 0.04] |"));
  // Mamba's 40 state bits are fewer than the 75.2 bits copy needs at 16: bounded.
  EXPECT_THAT(markdown, HasSubstr("| task needs | 37.6 | 75.2 |"));
  EXPECT_THAT(markdown, HasSubstr("| mamba | 40 | 40, bound 2^-35.2 |"));
  EXPECT_THAT(markdown, HasSubstr("| hard_alibi | 4.1k | 8.19k |"));
  EXPECT_THAT(
      markdown,
      HasSubstr("| ✅ pass | hard_alibi* accuracy at length 2x >= 0.85 | hard_alibi* accuracy "
                "on copy at length 2x (16): lowest 0.875 >= 0.85 (2 runs, mean 0.9062) | "
                "suite.toml:20:1 |"));
  EXPECT_THAT(markdown, HasSubstr("| ❌ fail | hard_alibi* beats mamba* on accuracy at length 16 "
                                  "by >= 0.95 |"));
  EXPECT_THAT(markdown,
              HasSubstr("| mamba/copy/seed1 | m1 | cpu | no | 3.2k | 100 | 12.5 | 50k |"));
  EXPECT_THAT(markdown, HasSubstr("- lstm/copy/seed0 (l0)"));
  EXPECT_EQ(markdown_cell("a|b\nc"), "a\\|b c");
}

TEST_F(DemoFolder, JunitHasACasePerRunAndExpectation) {
  write_suite_json(R"([
      {"where": "suite.toml:20:1", "runs": "hard_alibi*", "length": "2x", "at_least": 0.85},
      {"where": "suite.toml:26:1", "runs": "mamba*", "length": 16, "at_least": 0.5}])");
  const ResultsFolder results = load_results(dir_.path());
  const std::string xml =
      junit_report(results, judge(results.expectations, results.runs, results.not_run_names()));
  EXPECT_THAT(xml, HasSubstr("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "
                             "name=\"parrot demo\" tests=\"7\" failures=\"2\" errors=\"0\">\n"));
  EXPECT_THAT(xml, HasSubstr("  <testsuite name=\"demo.runs\" tests=\"5\" failures=\"1\" "
                             "errors=\"0\">\n    <testcase classname=\"demo.runs\" "
                             "name=\"hard_alibi/copy/seed0\" time=\"13.25\"/>\n"));
  EXPECT_THAT(xml, HasSubstr("<testcase classname=\"demo.runs\" name=\"lstm/copy/seed0\">\n"
                             "      <failure type=\"not run\" message=\"not run\">suite.json "
                             "lists run l0 but "));
  EXPECT_THAT(xml, HasSubstr("<testsuite name=\"demo.expectations\" tests=\"2\" failures=\"1\""));
  EXPECT_THAT(xml, HasSubstr("<testcase classname=\"demo.expectations\" name=\"hard_alibi* "
                             "accuracy at length 2x &gt;= 0.85\"/>"));
  EXPECT_THAT(xml, HasSubstr("<failure type=\"expectation\" message=\"mamba* accuracy on copy at "
                             "length 16: lowest 0 &lt; 0.5 (2 runs, mean 0.007812); failing: "
                             "mamba/copy/seed0, mamba/copy/seed1\">"));
  EXPECT_THAT(xml, HasSubstr("\nwritten at suite.toml:26:1</failure>"));
  // Well formed as far as tags go: every case opened is closed, and so is every suite.
  const auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = xml.find(needle); at != std::string::npos; at = xml.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<testcase "), 7u);
  EXPECT_EQ(count("<testcase ") - count("\"/>\n"), count("</testcase>"));
  EXPECT_EQ(count("<testsuite "), count("</testsuite>"));
  EXPECT_EQ(count("<failure "), count("</failure>"));
}

TEST(XmlEscape, EscapesMarkupAndDropsForbiddenCharacters) {
  EXPECT_EQ(xml_escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  EXPECT_EQ(xml_escape(std::string("bell\x07 tab\t")), "bell? tab\t");
}

TEST_F(DemoFolder, HtmlChartsCarryTheGroupedData) {
  const auto charts = report_charts(load_results(dir_.path()));
  ASSERT_EQ(charts.size(), 2u);
  EXPECT_EQ(charts[0].title, "copy: sample efficiency at length 8");
  EXPECT_EQ(charts[1].title, "copy: length generalization on copy");

  // Sample efficiency: per architecture and step, the means over seeds.
  const auto& curve = charts[0].spec["data"]["values"];
  ASSERT_EQ(curve.size(), 4u);
  EXPECT_EQ(curve[1]["architecture"], "hard_alibi");
  EXPECT_EQ(curve[1]["step"], 100);
  EXPECT_EQ(curve[1]["examples_seen"], 3300.0);
  EXPECT_EQ(curve[1]["string_accuracy"], 63 / 64.0);

  // Length generalization: the rule at the training length, then accuracy rows and, where a
  // state is smaller than the task needs, the bound.
  const auto& layers = charts[1].spec["layer"];
  EXPECT_EQ(layers[0]["data"]["values"], nlohmann::json::parse(R"([{"max_train_length": 8}])"));
  const auto& rows = layers[1]["data"]["values"];
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[1]["architecture"], "hard_alibi");
  EXPECT_EQ(rows[1]["length"], 16);
  EXPECT_EQ(rows[1]["value"], 0.90625);
  EXPECT_NEAR(rows[1]["low"].get<double>(), 0.843270, 1e-6);
  EXPECT_NEAR(rows[1]["high"].get<double>(), 0.945556, 1e-6);
  EXPECT_EQ(rows[4]["architecture"], "mamba");
  EXPECT_EQ(rows[4]["series"], "memory bound");
  EXPECT_EQ(rows[4]["length"], 16);
  EXPECT_NEAR(rows[4]["value"].get<double>(), std::exp2(40 - 2 * kCopyBits8), 1e-20);
}

// RoPE and Hard-ALiBi trained on copy, evaluated at length 8 only, on copy and on dedup4: one
// point per task and architecture, which makes no length-generalization table or chart.
void write_one_length_two_tasks(const test::TempDir& dir) {
  for (const auto& [id, architecture, dedup_correct] :
       {std::tuple{"r", "rope", 60}, std::tuple{"h", "hard_alibi", 16}}) {
    nlohmann::json run =
        run_record(id, std::string(architecture) + "/copy/seed0", architecture, 0, kNeverReached);
    run["eval_tasks"] = {"copy", "dedup4"};
    write_records(dir, id,
                  {run, length_record(8, 4096, 64, 1.0),
                   length_record(8, 4096, dedup_correct, 0.9, "dedup4")});
  }
}

// With an examples budget, seeds measure a curve point at different steps: a step of 33 examples
// and one of 30 both pass the first point. Grouped by step, the chart zigzagged between seeds.
TEST(ReportHtml, SeedsOfAnExamplesBudgetShareEachCurvePointThoughTheirStepsDiffer) {
  test::TempDir dir;
  auto examples_budget = [](nlohmann::json run) {
    run["config"]["train"]["examples"] = 3200;  // curve after 1, 57 and 3200 examples
    return run;
  };
  write_records(dir, "s0",
                {examples_budget(run_record("s0", "nope/copy/seed0", "nope", 0, kNeverReached)),
                 curve_record(1, 33, 0), curve_record(2, 66, 8), curve_record(97, 3201, 32)});
  write_records(dir, "s1",
                {examples_budget(run_record("s1", "nope/copy/seed1", "nope", 1, kNeverReached)),
                 curve_record(1, 30, 0), curve_record(2, 60, 16), curve_record(107, 3210, 48)});
  const auto charts = report_charts(load_results(dir.path()));
  ASSERT_FALSE(charts.empty());
  const auto& curve = charts[0].spec["data"]["values"];
  ASSERT_EQ(curve.size(), 3u) << curve.dump();
  for (const auto& point : curve) EXPECT_EQ(point["seeds"], 2);
  EXPECT_EQ(curve[1]["examples_seen"], 63.0);
  EXPECT_EQ(curve[1]["string_accuracy"], 12 / 64.0);
  EXPECT_EQ(curve[2]["step"], 102.0);
  EXPECT_EQ(curve[2]["examples_seen"], 3205.5);
}

TEST(ReportMarkdown, TasksEvaluatedAtOneSharedLengthShareOneTable) {
  test::TempDir dir;
  write_one_length_two_tasks(dir);
  const std::string markdown = markdown_report(load_results(dir.path()), {});
  EXPECT_THAT(markdown, HasSubstr("### String accuracy by evaluation task at L=8\n\n"));
  EXPECT_THAT(markdown, HasSubstr("| architecture | copy | dedup4 |\n"));
  EXPECT_THAT(markdown, HasSubstr("| hard_alibi | 1.00 [0.94, 1.00] | 0.25 [0.16, 0.37] |\n"));
  EXPECT_THAT(markdown, HasSubstr("| rope | 1.00 [0.94, 1.00] | 0.94 [0.85, 0.98] |\n"));
  EXPECT_THAT(markdown, HasSubstr("### Letter accuracy by evaluation task at L=8\n\n"));
  EXPECT_THAT(markdown, HasSubstr("| rope | 1.0000 | 0.9000 |\n"));
  EXPECT_THAT(markdown, HasSubstr("### State bits by evaluation task at L=8\n\n"));
  EXPECT_THAT(markdown, Not(HasSubstr("### String accuracy on")));
}

TEST(ReportHtml, TasksEvaluatedAtOneSharedLengthGetOneChartByTask) {
  test::TempDir dir;
  write_one_length_two_tasks(dir);
  // One chart of accuracy against the task, in the runs' order of tasks.
  const auto charts = report_charts(load_results(dir.path()));
  ASSERT_EQ(charts.size(), 1u);
  EXPECT_EQ(charts[0].title, "copy: accuracy by evaluation task at length 8");
  const auto& spec = charts[0].spec;
  EXPECT_EQ(spec["layer"][0]["encoding"]["x"]["sort"], nlohmann::json({"copy", "dedup4"}));
  const auto& rows = spec["data"]["values"];
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1]["architecture"], "hard_alibi");  // without suite.json, in name order
  EXPECT_EQ(rows[1]["eval_task"], "dedup4");
  EXPECT_EQ(rows[1]["value"], 16 / 64.0);
  EXPECT_LT(rows[1]["low"].get<double>(), 0.25);
  EXPECT_GT(rows[1]["high"].get<double>(), 0.25);
  EXPECT_EQ(rows[3]["architecture"], "rope");
  EXPECT_EQ(rows[3]["eval_task"], "dedup4");
  EXPECT_EQ(rows[3]["value"], 60 / 64.0);
}

// Tasks scored at several lengths each have a chart over lengths; one over tasks at every length
// they share would repeat those charts' points.
TEST(ReportHtml, TasksEvaluatedAtSeveralLengthsAreDrawnOnlyOverLengths) {
  test::TempDir dir;
  nlohmann::json run = run_record("r", "rope/copy/seed0", "rope", 0, kNeverReached);
  run["eval_tasks"] = {"copy", "dedup4"};
  write_records(
      dir, "r",
      {run, length_record(8, 4096, 64, 1.0), length_record(16, 4096, 32, 0.9),
       length_record(8, 4096, 60, 0.9, "dedup4"), length_record(16, 4096, 16, 0.8, "dedup4")});
  std::vector<std::string> titles;
  for (const auto& chart : report_charts(load_results(dir.path()))) titles.push_back(chart.title);
  EXPECT_THAT(titles, ElementsAre("copy: length generalization on copy",
                                  "copy: length generalization on dedup4"));
}

TEST(ReportHtml, NamesAndLibrariesCannotEndTheirScriptElements) {
  test::TempDir dir;
  write_records(dir, "x",
                {run_record("x", "a</script><!--/copy/seed0", "a</script><!--", 0, kNeverReached),
                 length_record(8, 4096, 64, 1.0)});
  const std::string html =
      html_report(load_results(dir.path()), {}, {"var end = '</SCRIPT>';", "", ""});
  size_t ends = 0;
  for (size_t at = html.find("</script>"); at != std::string::npos;
       at = html.find("</script>", at + 1))
    ++ends;
  EXPECT_EQ(ends, 5u);  // three libraries, the chart data and the render script
  EXPECT_THAT(html, HasSubstr("var end = '<\\/SCRIPT>';"));
  EXPECT_THAT(html, HasSubstr("\"a\\u003c/script>\\u003c!--\""));
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(DemoFolder, ReportCommandWritesEveryFileAndExitsOneOnAFailedExpectation) {
  if (const std::string why = test::report_html_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const auto out = dir_.path() / "report";  // a TempDir of its own would be this test's folder
  std::ostringstream log;
  EXPECT_EQ(report_command(dir_.path(), out, log), 1);
  for (const char* file : {"runs.csv", "curves.csv", "report.md", "report.html", "junit.xml"})
    EXPECT_TRUE(std::filesystem::is_regular_file(out / file)) << file;
  EXPECT_THAT(log.str(), HasSubstr("report of 4 runs (1 not run):\n"));
  EXPECT_THAT(log.str(), HasSubstr("expectations: 1 of 2 passed\nFAIL suite.toml:26:1: "
                                   "hard_alibi* vs mamba* accuracy on copy at length 16: 0.9062 - "
                                   "0.007812 = 0.8984 < 0.95"));
  EXPECT_EQ(read_file(out / "runs.csv"), runs_csv(load_results(dir_.path()).runs));

  write_suite_json(R"([{"where": "suite.toml:20:1", "runs": "hard_alibi*", "length": 8,
                        "at_least": 0.99}])");
  std::ostringstream passing;
  EXPECT_EQ(report_command(dir_.path(), dir_.path(), passing), 0);  // into the folder itself
  EXPECT_THAT(passing.str(), HasSubstr("expectations: 1 of 1 passed\n"));
  EXPECT_THAT(passing.str(), Not(HasSubstr("FAIL")));
  // The report's own files are not records: the folder still reads the same.
  EXPECT_EQ(load_results(dir_.path()).runs.size(), 4u);
}

TEST_F(DemoFolder, CheckExpectationsPrintsOnlyFailures) {
  std::ostringstream log;
  EXPECT_FALSE(check_expectations(dir_.path(), log));
  EXPECT_THAT(log.str(), HasSubstr("expectations: 1 of 2 passed\nFAIL suite.toml:26:1: "));
  EXPECT_THAT(log.str(), Not(HasSubstr("suite.toml:20:1")));
}

}  // namespace
}  // namespace parrot
