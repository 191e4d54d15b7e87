// Summary table formatting.

#include "summary.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace parrot {
namespace {

std::string fixed(double value, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

std::string compact(int64_t count) {
  if (count < 10000) return std::to_string(count);
  if (count < 10000000) return fixed(count / 1e3, count < 100000 ? 1 : 0) + "k";
  return fixed(count / 1e6, count < 100000000 ? 1 : 0) + "M";
}

}  // namespace

std::string summary_table(const std::string& suite_name, const std::vector<Run>& runs,
                          const ResultStore& store) {
  std::set<std::pair<std::string, int64_t>> columns;  // (evaluation task, length)
  std::set<std::string> tasks;
  std::set<int64_t> trained_up_to;
  for (const auto& run : runs) {
    for (const auto& task : run.eval_tasks) {
      tasks.insert(task.name);
      for (int64_t length : run.eval.lengths) columns.emplace(task.name, length);
    }
    trained_up_to.insert(run.train.max_length);
  }
  const bool one_training_length = trained_up_to.size() == 1;

  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"run", "params", "examples to 90%"};
  for (const auto& [task, length] : columns)
    header.push_back((tasks.size() > 1 ? task + " " : "") + "L=" + std::to_string(length) +
                     (one_training_length && length > *trained_up_to.begin() ? "*" : ""));
  rows.push_back(header);
  for (const auto& run : runs) {
    std::vector<std::string> row = {run.name};
    if (!store.finished(run.id)) {
      row.push_back("(not finished)");
      rows.push_back(row);
      continue;
    }
    std::map<std::pair<std::string, int64_t>, double> accuracy;
    for (const auto& record : store.read(run.id)) {
      if (record["record"] == "run") {
        row.push_back(compact(record["parameters"].get<int64_t>()));
        const auto& reached = record["examples_to"]["0.9"];
        row.push_back(reached.is_null() ? "never" : compact(reached.get<int64_t>()));
      } else if (record["record"] == "length") {
        accuracy[{record["task"].get<std::string>(), record["length"].get<int64_t>()}] =
            record["string_accuracy"].get<double>();
      }
    }
    for (const auto& column : columns)
      row.push_back(accuracy.count(column) ? fixed(accuracy[column], 2) : "-");
    rows.push_back(row);
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
      const bool left = i == 0;
      const std::string gap(widths[i] - row[i].size(), ' ');
      table += (i ? "  " : "") + (left ? row[i] + gap : gap + row[i]);
    }
    table.erase(table.find_last_not_of(' ') + 1);
    table += "\n";
  }
  return table;
}

}  // namespace parrot
