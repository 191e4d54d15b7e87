// report.html opened in headless Chromium: every chart must render with its data. The page
// writes on each chart's element how many line, symbol and rule items it drew, so the numbers
// below are the data points of the hand-written records, not just axes and legends.

#include "report.hpp"
#include "report_folder.hpp"
#include "report_html.hpp"
#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

namespace parrot {
namespace {

const char* const kChromium = "/usr/bin/chromium";

// Two architectures trained on copy up to length 4, one seed each, evaluated on copy at 4 and 8
// and on dedup2 and dedup3 at 4 only; "b" keeps 24 state bits, fewer than copy's 37.6 at length
// 8, so its memory bound binds there.
const char* const kRunA =
    R"({"record":"run","run_id":"ra","name":"a/copy/seed0","architecture":"a","task":"copy","eval_tasks":["copy","dedup2","dedup3"],"seed":0,"sweep":{},"max_train_length":4,"config":{"train":{"steps":20,"examples":0},"eval":{"curve_points":2}},"parameters":1000,"state_bits":{"4":512,"8":1024},"steps":20,"examples_seen":640,"stopped_early":false,"examples_to":{"0.5":64,"0.9":640,"0.99":null},"train_seconds":1.0,"wall_seconds":1.5,"tokens_per_second":1000.0,"device":"cpu","torch_version":"2.1.0"}
{"record":"curve","step":2,"examples_seen":64,"loss":2.0,"task":"copy","length":4,"examples":32,"strings_correct":16,"string_accuracy":0.5,"char_accuracy":0.8}
{"record":"curve","step":20,"examples_seen":640,"loss":0.1,"task":"copy","length":4,"examples":32,"strings_correct":30,"string_accuracy":0.9375,"char_accuracy":0.99}
{"record":"length","task":"copy","length":4,"state_bits":512,"memory_bits":18.8,"examples":32,"strings_correct":31,"string_accuracy":0.96875,"char_accuracy":0.99}
{"record":"length","task":"copy","length":8,"state_bits":1024,"memory_bits":37.6,"examples":32,"strings_correct":20,"string_accuracy":0.625,"char_accuracy":0.9}
{"record":"length","task":"dedup2","length":4,"state_bits":512,"memory_bits":16.0,"examples":32,"strings_correct":29,"string_accuracy":0.90625,"char_accuracy":0.98}
{"record":"length","task":"dedup3","length":4,"state_bits":512,"memory_bits":14.1,"examples":32,"strings_correct":26,"string_accuracy":0.8125,"char_accuracy":0.96}
)";
const char* const kRunB =
    R"({"record":"run","run_id":"rb","name":"b/copy/seed0","architecture":"b","task":"copy","eval_tasks":["copy","dedup2","dedup3"],"seed":0,"sweep":{},"max_train_length":4,"config":{"train":{"steps":20,"examples":0},"eval":{"curve_points":2}},"parameters":800,"state_bits":{"4":24,"8":24},"steps":20,"examples_seen":640,"stopped_early":false,"examples_to":{"0.5":64,"0.9":null,"0.99":null},"train_seconds":1.0,"wall_seconds":1.5,"tokens_per_second":1000.0,"device":"cpu","torch_version":"2.1.0"}
{"record":"curve","step":2,"examples_seen":64,"loss":2.1,"task":"copy","length":4,"examples":32,"strings_correct":17,"string_accuracy":0.53125,"char_accuracy":0.8}
{"record":"curve","step":20,"examples_seen":640,"loss":0.3,"task":"copy","length":4,"examples":32,"strings_correct":27,"string_accuracy":0.84375,"char_accuracy":0.95}
{"record":"length","task":"copy","length":4,"state_bits":24,"memory_bits":18.8,"examples":32,"strings_correct":28,"string_accuracy":0.875,"char_accuracy":0.97}
{"record":"length","task":"copy","length":8,"state_bits":24,"memory_bits":37.6,"examples":32,"strings_correct":0,"string_accuracy":0.0,"char_accuracy":0.4}
{"record":"length","task":"dedup2","length":4,"state_bits":24,"memory_bits":16.0,"examples":32,"strings_correct":20,"string_accuracy":0.625,"char_accuracy":0.9}
{"record":"length","task":"dedup3","length":4,"state_bits":24,"memory_bits":14.1,"examples":32,"strings_correct":12,"string_accuracy":0.375,"char_accuracy":0.8}
)";

// The page as Chromium sees it after its scripts ran; stderr goes to `log`.
std::string rendered_dom(const std::filesystem::path& page, const std::filesystem::path& profile,
                         const std::filesystem::path& log) {
  const std::string command = std::string("timeout 180 ") + kChromium +
                              " --headless --disable-gpu --no-sandbox --disable-dev-shm-usage"
                              " --user-data-dir=" +
                              profile.string() + " --virtual-time-budget=30000 --dump-dom file://" +
                              page.string() + " 2>" + log.string();
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "";
  std::string dom;
  char buffer[65536];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) dom.append(buffer, n);
  ::pclose(pipe);
  return dom;
}

// The opening tag of the element with this id, and what follows it up to the next chart.
struct Element {
  std::string tag;
  std::string content;
};

Element element_with_id(const std::string& dom, const std::string& id) {
  const size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  const size_t open = dom.rfind('<', at);
  const size_t close = dom.find('>', at);
  const size_t next = dom.find("class=\"chart", close);
  return {dom.substr(open, close - open + 1),
          dom.substr(close + 1, next == std::string::npos ? std::string::npos : next - close)};
}

std::string attribute(const std::string& tag, const std::string& name) {
  std::smatch match;
  if (std::regex_search(tag, match, std::regex(" " + name + "=\"([^\"]*)\""))) return match[1];
  return "(none)";
}

// The chart rendered without error, as SVG, and drew this many items of each kind of mark.
void expect_drawn(const Element& chart, const std::string& lines, const std::string& symbols,
                  const std::string& rules) {
  EXPECT_EQ(attribute(chart.tag, "data-error"), "(none)");
  EXPECT_EQ(attribute(chart.tag, "data-line"), lines);
  EXPECT_EQ(attribute(chart.tag, "data-symbol"), symbols);
  EXPECT_EQ(attribute(chart.tag, "data-rule"), rules);
  EXPECT_THAT(chart.content, ::testing::HasSubstr("<svg"));
}

TEST(ReportRender, EveryChartDrawsItsDataInChromium) {
  ASSERT_EQ(::access(kChromium, X_OK), 0)
      << kChromium << " is missing: run scripts/setup.sh (as root) to install Debian's chromium, "
      << "which this test needs to render report.html";
  test::TempDir dir;
  dir.write("ra.jsonl", kRunA);
  dir.write("rb.jsonl", kRunB);
  const auto out = dir.path() / "report";
  write_report(dir.path(), out);
  ASSERT_EQ(report_charts(load_results(dir.path())).size(), 3u);

  const std::string dom = rendered_dom(out / "report.html", dir.path() / "chromium-profile",
                                       dir.path() / "chromium.log");
  ASSERT_THAT(dom, ::testing::HasSubstr("parrot-render-status"))
      << "Chromium printed no page; its log: " << dir.path() / "chromium.log";

  const Element status = element_with_id(dom, "parrot-render-status");
  EXPECT_EQ(attribute(status.tag, "data-charts"), "3");
  EXPECT_EQ(attribute(status.tag, "data-rendered"), "3") << status.tag << status.content;

  // Sample efficiency at length 4: two curves of two points each.
  expect_drawn(element_with_id(dom, "chart-0"), "4", "4", "0");

  // Length generalization: 4 accuracy points and b's bound at length 8 (lines and points), a
  // Wilson interval per accuracy point and the rule at the longest training length.
  const Element lengths = element_with_id(dom, "chart-1");
  expect_drawn(lengths, "5", "5", "5");
  // The dashed bound is drawn: its series shows up in the legend.
  EXPECT_THAT(lengths.content, ::testing::HasSubstr("memory bound"));

  // By evaluation task at length 4, where dedup2 and dedup3 were scored only: each task for each
  // architecture, a point on a line with its Wilson interval.
  const Element tasks = element_with_id(dom, "chart-2");
  expect_drawn(tasks, "4", "4", "4");
  EXPECT_THAT(tasks.content, ::testing::HasSubstr("dedup3"));
}

}  // namespace
}  // namespace parrot
