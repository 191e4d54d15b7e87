// `suite report`: a results folder turned into report.md, report.html, runs.csv, curves.csv and
// junit.xml, with the suite's expectations judged. The entry points the CLI calls.
#pragma once

#include "expectations.hpp"

#include <cstddef>
#include <filesystem>
#include <ostream>
#include <vector>

namespace parrot {

struct ReportSummary {
  size_t runs = 0;     // finished runs in the report
  size_t not_run = 0;  // listed in suite.json without a record file
  size_t expectations = 0;
  size_t expectations_failed = 0;
  std::vector<Verdict> verdicts;
  std::vector<std::filesystem::path> files;  // what was written

  bool any_failed() const { return expectations_failed > 0; }
};

// Reads `results_folder` (docs/results.md) and writes the five files into `out_dir` (created if
// needed; it may be the results folder itself). Throws InputError for a malformed folder,
// std::runtime_error when the chart libraries are missing from the build; nothing is written
// then.
ReportSummary write_report(const std::filesystem::path& results_folder,
                           const std::filesystem::path& out_dir);

// `suite report RESULTS_DIR [--out DIR]`: write_report, then one line per written file and the
// verdicts on `log`. Returns 0 when every expectation passed, 1 when one failed.
int report_command(const std::filesystem::path& results_folder,
                   const std::filesystem::path& out_dir, std::ostream& log);

// "expectations: 3 of 4 passed", then one line per failure: "FAIL suite.toml:12:1: <verdict>".
void print_verdicts(const std::vector<Verdict>& verdicts, std::ostream& log);

// For the end of `suite run`: judges the folder's suite.json expectations against its records
// and prints them as print_verdicts does (nothing when the suite has none). True when all pass.
bool check_expectations(const std::filesystem::path& results_folder, std::ostream& log);

}  // namespace parrot
