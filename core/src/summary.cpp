// Summary table formatting.

#include "summary.hpp"

#include "report_format.hpp"
#include "report_records.hpp"

#include <algorithm>
#include <set>

namespace parrot {

std::string summary_table(const std::string& suite_name, const std::vector<Run>& runs,
                          const ResultStore& store) {
  std::set<int64_t> lengths;
  std::set<int64_t> trained_up_to;
  for (const auto& run : runs) {
    lengths.insert(run.eval.lengths.begin(), run.eval.lengths.end());
    trained_up_to.insert(run.train.max_length);
  }
  const bool one_training_length = trained_up_to.size() == 1;

  // One row per run and evaluation task.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"run", "evaluated on", "params", "examples to 90%"};
  for (int64_t length : lengths)
    header.push_back("L=" + std::to_string(length) +
                     (one_training_length && length > *trained_up_to.begin() ? "*" : ""));
  rows.push_back(header);
  for (const auto& run : runs) {
    if (!store.finished(run.id)) {
      rows.push_back({run.name, "(not finished)"});
      continue;
    }
    const RunRecords records = read_run_records(store.file_of(run.id));
    const auto& reached = records.examples_to.at(0.9);
    const std::string parameters = compact_count(static_cast<double>(records.parameters));
    const std::string examples = reached ? compact_count(static_cast<double>(*reached)) : "never";
    for (const auto& task : run.eval_tasks) {
      std::vector<std::string> row = {run.name, task.name, parameters, examples};
      for (int64_t length : lengths) {
        const LengthRecord* record = records.length_record(task.name, length);
        row.push_back(record ? fixed(record->string_accuracy, 2) : "-");
      }
      rows.push_back(row);
    }
  }

  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  std::string table = suite_name + ": string accuracy at each evaluation length";
  if (one_training_length)
    table += " (trained up to length " + std::to_string(*trained_up_to.begin()) + ", * = beyond)";
  table += "\n";
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      const bool left = i < 2;
      const std::string gap(widths[i] - row[i].size(), ' ');
      table += (i ? "  " : "") + (left ? row[i] + gap : gap + row[i]);
    }
    table.erase(table.find_last_not_of(' ') + 1);
    table += "\n";
  }
  return table;
}

}  // namespace parrot
