// A results folder read whole: every run's records and, when `suite run` left one, suite.json
// with the suite's expected runs and [[expect]] blocks. What every report output starts from.
#pragma once

#include "expectations.hpp"
#include "report_records.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace parrot {

struct ListedRun {
  std::string run_id;
  std::string name;
};

struct ResultsFolder {
  std::filesystem::path folder;
  std::string suite;       // suite.json's name; without it, the folder's name
  std::string suite_file;  // the suite file suite.json names; empty without suite.json
  bool has_suite_json = false;
  std::vector<Expectation> expectations;
  std::vector<RunRecords> runs;    // finished: in suite.json's order, else by name
  std::vector<ListedRun> not_run;  // listed in suite.json, no record file
  // Record files of runs suite.json does not list: left by an earlier version of the suite.
  std::vector<std::filesystem::path> unlisted;

  std::vector<std::string> not_run_names() const;
};

// Reads <run-id>.jsonl for every run and suite.json if present; temp files (*.tmp.*) and other
// files are ignored. With suite.json, only the runs it lists are read. Throws InputError with
// file:line for a malformed record or suite.json, or when the folder does not exist.
ResultsFolder load_results(const std::filesystem::path& folder);

}  // namespace parrot
