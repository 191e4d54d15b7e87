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
    std::string parameters, reached;
    std::map<std::pair<std::string, int64_t>, double> accuracy;
    for (const auto& record : store.read(run.id)) {
      if (record["record"] == "run") {
        parameters = compact(record["parameters"].get<int64_t>());
        const auto& examples = record["examples_to"]["0.9"];
        reached = examples.is_null() ? "never" : compact(examples.get<int64_t>());
      } else if (record["record"] == "length") {
        accuracy[{record["task"].get<std::string>(), record["length"].get<int64_t>()}] =
            record["string_accuracy"].get<double>();
      }
    }
    for (const auto& task : run.eval_tasks) {
      std::vector<std::string> row = {run.name, task.name, parameters, reached};
      for (int64_t length : lengths) {
        const auto found = accuracy.find({task.name, length});
        row.push_back(found == accuracy.end() ? "-" : fixed(found->second, 2));
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
