// JUnit XML of runs and verdicts.

#include "report_junit.hpp"

#include "report_format.hpp"

#include <algorithm>
#include <sstream>

namespace parrot {
namespace {

void open_suite(std::ostringstream& out, const std::string& name, size_t tests, size_t failures) {
  out << "  <testsuite name=\"" << xml_escape(name) << "\" tests=\"" << tests << "\" failures=\""
      << failures << "\" errors=\"0\">\n";
}

void testcase(std::ostringstream& out, const std::string& classname, const std::string& name,
              const std::string& seconds) {
  out << "    <testcase classname=\"" << xml_escape(classname) << "\" name=\"" << xml_escape(name)
      << "\"" << (seconds.empty() ? "" : " time=\"" + seconds + "\"") << "/>\n";
}

void failed_testcase(std::ostringstream& out, const std::string& classname, const std::string& name,
                     const std::string& type, const std::string& message,
                     const std::string& details) {
  out << "    <testcase classname=\"" << xml_escape(classname) << "\" name=\"" << xml_escape(name)
      << "\">\n      <failure type=\"" << xml_escape(type) << "\" message=\"" << xml_escape(message)
      << "\">" << xml_escape(details) << "</failure>\n    </testcase>\n";
}

}  // namespace

std::string junit_report(const ResultsFolder& results, const std::vector<Verdict>& verdicts) {
  const size_t failed_verdicts =
      std::count_if(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return !v.passed; });
  const size_t runs = results.runs.size() + results.not_run.size();
  const std::string runs_class = results.suite + ".runs";
  const std::string expectations_class = results.suite + ".expectations";

  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"" << xml_escape("parrot " + results.suite) << "\" tests=\""
      << runs + verdicts.size() << "\" failures=\"" << results.not_run.size() + failed_verdicts
      << "\" errors=\"0\">\n";
  open_suite(out, runs_class, runs, results.not_run.size());
  for (const auto& run : results.runs)
    testcase(out, runs_class, run.name, shortest(run.wall_seconds));
  for (const auto& run : results.not_run)
    failed_testcase(out, runs_class, run.name, "not run", "not run",
                    "suite.json lists run " + run.run_id + " but " + results.folder.string() +
                        " has no " + run.run_id +
                        ".jsonl: the run failed or has not run yet (suite run writes it)");
  out << "  </testsuite>\n";
  open_suite(out, expectations_class, verdicts.size(), failed_verdicts);
  for (const auto& verdict : verdicts) {
    if (verdict.passed) {
      testcase(out, expectations_class, verdict.expectation, "");
      continue;
    }
    failed_testcase(out, expectations_class, verdict.expectation, "expectation",
                    verdict.description, verdict.description + "\nwritten at " + verdict.where);
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace parrot
