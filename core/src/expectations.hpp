// A suite's [[expect]] blocks: what its results must show, read from TOML, stored in
// suite.json, and judged against the run records. docs/expectations.md is the user's reference.
#pragma once

#include "report_records.hpp"

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace parrot {

enum class Metric {
  kAccuracy,       // string accuracy on an evaluation task at one length
  kExamplesTo,     // examples seen until the training curve reached `threshold` (never = +inf)
  kLongestLength,  // the longest evaluated length whose string accuracy is >= `threshold`
};

const char* to_string(Metric metric);

// A number, or a multiple of each run's longest training length ("2x").
struct Quantity {
  double value = 0;
  bool times_max_train_length = false;

  double resolve(int64_t max_train_length) const;
  std::string str() const;  // "1000", "0.9" or "2x", as written in a suite
};

// One [[expect]] block. A threshold names `runs` and one of `at_least` / `at_most`; a
// comparison names `better` and `worse` and `by` (or `factor` for examples_to).
struct Expectation {
  std::string where;  // where it was written ("suite.toml:12:1"), for verdicts
  Metric metric = Metric::kAccuracy;
  std::string runs;                  // threshold: fnmatch glob over run names
  std::string better, worse;         // comparison: globs; empty in a threshold
  std::optional<std::string> task;   // evaluation task; unset = each run's training task
  std::optional<Quantity> length;    // accuracy: the length it is read at
  double threshold = 0;              // examples_to, longest_length: the accuracy to reach
  std::optional<Quantity> at_least;  // threshold: every matching run must reach this ...
  std::optional<Quantity> at_most;   // ... or stay at or below this
  std::optional<double> by;          // comparison: mean(better) - mean(worse) >= by
  std::optional<double> factor;  // comparison, examples_to: mean(worse) / mean(better) >= factor

  bool is_comparison() const { return !better.empty(); }
};

// Reads the suite's `expect` node (null when the suite has none): an array of tables. Throws
// InputError at file:line:column for an unknown key or metric (with a "did you mean"), a wrong
// type, a missing or conflicting key, or a key that does not apply to the metric.
std::vector<Expectation> read_expectations(const toml::node* expect);

// suite.json's "expectations": the same keys as in TOML, plus "where". expectations_from_json
// checks what it reads as strictly as read_expectations; `source` names the file in its errors.
nlohmann::json expectations_to_json(const std::vector<Expectation>& expectations);
std::vector<Expectation> expectations_from_json(const nlohmann::json& expectations,
                                                const std::string& source);

// What an expectation asks, in words: "hard_alibi* accuracy on copy at length 1000 >= 0.9".
std::string describe(const Expectation& expectation);

struct Verdict {
  std::string expectation;  // describe()
  std::string where;
  bool passed;
  // One line with the numbers: "hard_alibi* accuracy on copy at length 1000: lowest 0.91 >= 0.9
  // (3 runs, mean 0.93)", or what was missing.
  std::string description;
};

// Judges each expectation on the finished runs. A threshold must hold for every matching run; a
// comparison compares the means over the runs each glob matches. A glob that matches no run,
// a matching run in `not_run` (listed by the suite, no records) and a run without the value
// asked for are failures, never silent passes.
std::vector<Verdict> judge(const std::vector<Expectation>& expectations,
                           const std::vector<RunRecords>& runs,
                           const std::vector<std::string>& not_run = {});

}  // namespace parrot
