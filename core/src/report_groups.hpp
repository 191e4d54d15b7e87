// Runs that differ only in their seed, gathered into groups and summarized over seeds: the rows
// of report.md and the lines of report.html's charts.
#pragma once

#include "report_records.hpp"
#include "report_statistics.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace parrot {

// An architecture (with its swept values) trained on one task, over seeds.
struct RunGroup {
  std::string label;  // "hard_alibi", or with sweeps "hard_alibi@d_model=64,lr=0.001"
  std::string task;   // the training task
  std::vector<const RunRecords*> runs;
};

// The architecture and swept values of a run, as a group label.
std::string group_label(const RunRecords& run);

// Groups in the order their first run appears.
std::vector<RunGroup> group_runs(const std::vector<RunRecords>& runs);

// A group's accuracy on one evaluation task at one length, after training.
struct LengthSummary {
  std::string task;
  int64_t length;
  size_t runs;
  double mean_accuracy;  // string accuracy, mean over seeds
  double mean_char_accuracy;
  // Pooled over seeds: the interval counts every seed's examples (all seeds are scored on
  // examples of the same distribution, so together they measure the group's accuracy).
  int64_t strings_correct;
  int64_t examples;
  Interval interval;  // 95% Wilson over the pooled counts
  double state_bits;  // mean over seeds (equal when only the seed differs)
  std::optional<double> memory_bits;
  std::optional<double> bound;  // memory_bound(state_bits, memory_bits) where memory is known
};

// Ordered by evaluation task (as the runs list them) and length.
std::vector<LengthSummary> summarize_lengths(const RunGroup& group);

// How report.md and report.html lay out the evaluations of groups trained on one task: a table
// or chart over lengths for each task scored at several lengths, and one over tasks at each
// length that several tasks scored at that length only share (copy and its duplicated n-gram
// variants at 50, say). A task scored at one length nobody else shares gets its own table.
struct EvaluationLayout {
  // Evaluation tasks in the order the runs list them, each with its lengths.
  std::vector<std::pair<std::string, std::set<int64_t>>> over_lengths;
  std::vector<std::pair<int64_t, std::vector<std::string>>> over_tasks;  // length, its tasks
};

EvaluationLayout evaluation_layout(const std::vector<RunGroup>& groups);

// A group's sample-efficiency curve at one curve length: means over the seeds at each point of
// the curve's schedule. A seed that stopped early has no later points; the mean is over the seeds
// still training.
struct CurveSummary {
  int64_t length;
  int64_t point;  // the schedule point, in steps or examples (RunRecords::curve_point_of)
  size_t runs;
  double mean_step;
  double mean_examples_seen;
  double mean_accuracy;
};

// Ordered by curve length and schedule point.
std::vector<CurveSummary> summarize_curve(const RunGroup& group);

}  // namespace parrot
