// Writing every report output of a results folder.

#include "report.hpp"

#include "report_csv.hpp"
#include "report_folder.hpp"
#include "report_html.hpp"
#include "report_junit.hpp"
#include "report_markdown.hpp"

#include <parrot/error.hpp>

#include <algorithm>
#include <fstream>
#include <system_error>

namespace parrot {
namespace {

void write_file(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw InputError(file.string() + ": cannot be written");
}

}  // namespace

ReportSummary write_report(const std::filesystem::path& results_folder,
                           const std::filesystem::path& out_dir) {
  const ResultsFolder results = load_results(results_folder);
  const ChartLibraries libraries = load_chart_libraries();  // before writing anything
  ReportSummary summary;
  summary.runs = results.runs.size();
  summary.not_run = results.not_run.size();
  summary.verdicts = judge(results.expectations, results.runs, results.not_run_names());
  summary.expectations = summary.verdicts.size();
  summary.expectations_failed = std::count_if(summary.verdicts.begin(), summary.verdicts.end(),
                                              [](const Verdict& v) { return !v.passed; });

  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) throw InputError(out_dir.string() + ": cannot be created: " + error.message());
  const std::vector<std::pair<const char*, std::string>> outputs = {
      {"runs.csv", runs_csv(results.runs)},
      {"curves.csv", curves_csv(results.runs)},
      {"report.md", markdown_report(results, summary.verdicts)},
      {"report.html", html_report(results, summary.verdicts, libraries)},
      {"junit.xml", junit_report(results, summary.verdicts)}};
  for (const auto& [name, text] : outputs) {
    write_file(out_dir / name, text);
    summary.files.push_back(out_dir / name);
  }
  return summary;
}

void print_verdicts(const std::vector<Verdict>& verdicts, std::ostream& log) {
  const size_t passed =
      std::count_if(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return v.passed; });
  log << "expectations: " << passed << " of " << verdicts.size() << " passed\n";
  for (const auto& verdict : verdicts)
    if (!verdict.passed) log << "FAIL " << verdict.where << ": " << verdict.description << "\n";
}

int report_command(const std::filesystem::path& results_folder,
                   const std::filesystem::path& out_dir, std::ostream& log) {
  const ReportSummary summary = write_report(results_folder, out_dir);
  log << "report of " << summary.runs << " runs";
  if (summary.not_run) log << " (" << summary.not_run << " not run)";
  log << ":\n";
  for (const auto& file : summary.files) log << "  " << file.string() << "\n";
  print_verdicts(summary.verdicts, log);
  return summary.any_failed() ? 1 : 0;
}

bool check_expectations(const std::filesystem::path& results_folder, std::ostream& log) {
  const ResultsFolder results = load_results(results_folder);
  if (results.expectations.empty()) return true;
  const auto verdicts = judge(results.expectations, results.runs, results.not_run_names());
  print_verdicts(verdicts, log);
  return std::all_of(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return v.passed; });
}

}  // namespace parrot
