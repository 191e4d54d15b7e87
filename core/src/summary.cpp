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

std::string summary_table(const Suite& suite, const ResultStore& store) {
  std::set<int64_t> lengths;
  std::set<int64_t> trained_up_to;
  for (const auto& run : suite.runs) {
    lengths.insert(run.eval.lengths.begin(), run.eval.lengths.end());
    trained_up_to.insert(run.train.max_length);
  }
  const bool one_training_length = trained_up_to.size() == 1;

  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"architecture", "seed", "params", "examples to 90%"};
  for (int64_t length : lengths)
    header.push_back("L=" + std::to_string(length) +
                     (one_training_length && length > *trained_up_to.begin() ? "*" : ""));
  rows.push_back(header);
  for (const auto& run : suite.runs) {
    std::vector<std::string> row = {run.architecture.name, std::to_string(run.seed)};
    if (!store.finished(run.id)) {
      row.push_back("(not finished)");
      rows.push_back(row);
      continue;
    }
    std::map<int64_t, double> accuracy;
    for (const auto& record : store.read(run.id)) {
      if (record["record"] == "run") {
        row.push_back(compact(record["parameters"].get<int64_t>()));
        const auto& reached = record["examples_to"]["0.9"];
        row.push_back(reached.is_null() ? "never" : compact(reached.get<int64_t>()));
      } else if (record["record"] == "length") {
        accuracy[record["length"].get<int64_t>()] = record["string_accuracy"].get<double>();
      }
    }
    for (int64_t length : lengths)
      row.push_back(accuracy.count(length) ? fixed(accuracy[length], 2) : "-");
    rows.push_back(row);
  }

  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  std::string table = suite.name + ": string accuracy at each evaluation length";
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
