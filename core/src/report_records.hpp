// One run's record file (docs/results.md) read back into typed records, for reports and
// expectations. Every field the format names is checked; a bad line fails with file:line.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace parrot {

// {"record": "curve"}: accuracy on the training task at one curve point and curve length.
struct CurveRecord {
  int64_t step;
  int64_t examples_seen;
  double loss;
  std::string task;
  int64_t length;
  int64_t examples;
  int64_t strings_correct;
  double string_accuracy;
  double char_accuracy;
};

// {"record": "length"}: accuracy on one evaluation task at one length, after training.
struct LengthRecord {
  std::string task;
  int64_t length;
  int64_t state_bits;
  std::optional<double> memory_bits;  // unset: the task says nothing about the memory it needs
  int64_t examples;
  int64_t strings_correct;
  double string_accuracy;
  double char_accuracy;
};

// A finished run: its {"record": "run"} line and every curve and length record after it.
struct RunRecords {
  std::string run_id;
  std::string name;          // "<architecture>[@axis=value,...]/<task>/seed<N>"
  std::string architecture;  // the suite's name for it
  std::string task;          // the training task
  std::vector<std::string> eval_tasks;
  int64_t seed;
  nlohmann::json sweep;  // {"<axis>": value}; {} without sweeps
  int64_t max_train_length;
  int64_t parameters;
  int64_t steps;
  int64_t examples_seen;
  bool stopped_early;
  // Threshold (0.5, 0.9, 0.99) -> examples seen when the curve first reached it; unset = never.
  std::map<double, std::optional<int64_t>> examples_to;
  double train_seconds;
  double wall_seconds;
  double tokens_per_second;
  std::string device;
  std::vector<CurveRecord> curve;
  // From the run's config: the curve's schedule (curve_schedule.hpp) and whether it counts
  // examples or steps.
  std::vector<int64_t> curve_schedule;
  bool examples_budget = false;
  std::vector<LengthRecord> lengths;

  // The schedule point `point` was measured for: points of several seeds with the same one belong
  // together even where their steps saw different numbers of examples.
  int64_t curve_point_of(const CurveRecord& point) const;

  // The length record of `task` at `length`; null when that was not evaluated.
  const LengthRecord* length_record(const std::string& task, int64_t length) const;
};

// Reads <run-id>.jsonl. Throws InputError "file:line: ..." for a line that is not JSON, a
// missing or mistyped field, an unknown record kind, or a run_id that is not the file's name.
RunRecords read_run_records(const std::filesystem::path& file);

}  // namespace parrot
