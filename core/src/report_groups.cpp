// Grouping runs over seeds and averaging their records.

#include "report_groups.hpp"

#include "report_format.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace parrot {

std::string group_label(const RunRecords& run) {
  std::string swept;
  for (const auto& [axis, value] : run.sweep.items()) {
    const std::string text = value.is_string()   ? value.get<std::string>()
                             : value.is_number() ? shortest(value.get<double>())
                                                 : value.dump();
    swept += (swept.empty() ? "" : ",") + axis + "=" + text;
  }
  return swept.empty() ? run.architecture : run.architecture + "@" + swept;
}

std::vector<RunGroup> group_runs(const std::vector<RunRecords>& runs) {
  std::vector<RunGroup> groups;
  for (const auto& run : runs) {
    const std::string label = group_label(run);
    auto group = std::find_if(groups.begin(), groups.end(), [&](const RunGroup& g) {
      return g.label == label && g.task == run.task;
    });
    if (group == groups.end()) group = groups.insert(groups.end(), RunGroup{label, run.task, {}});
    group->runs.push_back(&run);
  }
  return groups;
}

EvaluationLayout evaluation_layout(const std::vector<RunGroup>& groups) {
  std::vector<std::string> tasks;
  std::map<std::string, std::set<int64_t>> lengths_of;
  for (const auto& group : groups)
    for (const auto* run : group.runs)
      for (const auto& record : run->lengths) {
        if (std::find(tasks.begin(), tasks.end(), record.task) == tasks.end())
          tasks.push_back(record.task);
        lengths_of[record.task].insert(record.length);
      }
  // Tasks scored at one length only, by that length: where several share it, they are drawn
  // against each other, since a one-point chart of accuracy against length shows nothing.
  std::map<int64_t, std::vector<std::string>> single_length_tasks_at;
  for (const auto& task : tasks)
    if (lengths_of[task].size() == 1)
      single_length_tasks_at[*lengths_of[task].begin()].push_back(task);

  EvaluationLayout layout;
  for (const auto& task : tasks) {
    const auto& lengths = lengths_of[task];
    if (lengths.size() > 1 || single_length_tasks_at[*lengths.begin()].size() == 1)
      layout.over_lengths.emplace_back(task, lengths);
  }
  for (auto& [length, shared_by] : single_length_tasks_at)
    if (shared_by.size() > 1) layout.over_tasks.emplace_back(length, std::move(shared_by));
  return layout;
}

std::vector<LengthSummary> summarize_lengths(const RunGroup& group) {
  std::vector<std::string> tasks;  // in the order the runs list them
  std::map<std::pair<std::string, int64_t>, std::vector<const LengthRecord*>> cells;
  for (const auto* run : group.runs)
    for (const auto& task : run->eval_tasks)
      if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) tasks.push_back(task);
  for (const auto* run : group.runs)
    for (const auto& record : run->lengths) {
      if (std::find(tasks.begin(), tasks.end(), record.task) == tasks.end())
        tasks.push_back(record.task);
      cells[{record.task, record.length}].push_back(&record);
    }
  std::vector<LengthSummary> summaries;
  for (const auto& task : tasks)
    for (const auto& [key, records] : cells) {
      if (key.first != task) continue;
      LengthSummary summary{task, key.second, records.size(), 0, 0, 0, 0, {}, 0, {}, {}};
      for (const auto* record : records) {
        summary.mean_accuracy += record->string_accuracy / records.size();
        summary.mean_char_accuracy += record->char_accuracy / records.size();
        summary.strings_correct += record->strings_correct;
        summary.examples += record->examples;
        summary.state_bits += static_cast<double>(record->state_bits) / records.size();
        if (record->memory_bits) summary.memory_bits = *record->memory_bits;
      }
      summary.interval = wilson_interval(summary.strings_correct, summary.examples);
      if (summary.memory_bits)
        summary.bound = memory_bound(summary.state_bits, *summary.memory_bits);
      summaries.push_back(summary);
    }
  return summaries;
}

std::vector<CurveSummary> summarize_curve(const RunGroup& group) {
  std::map<std::pair<int64_t, int64_t>, std::vector<const CurveRecord*>> points;
  for (const auto* run : group.runs)
    for (const auto& record : run->curve)
      points[{record.length, run->curve_point_of(record)}].push_back(&record);
  std::vector<CurveSummary> summaries;
  for (const auto& [key, records] : points) {
    CurveSummary summary{key.first, key.second, records.size(), 0, 0, 0};
    for (const auto* record : records) {
      summary.mean_step += static_cast<double>(record->step) / records.size();
      summary.mean_examples_seen += static_cast<double>(record->examples_seen) / records.size();
      summary.mean_accuracy += record->string_accuracy / records.size();
    }
    summaries.push_back(summary);
  }
  return summaries;
}

}  // namespace parrot
