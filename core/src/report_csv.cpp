// CSV tables of the records.

#include "report_csv.hpp"

#include "report_format.hpp"
#include "report_statistics.hpp"

#include <cmath>
#include <set>

namespace parrot {
namespace {

// Swept axes differ between runs of a suite only in value, but a folder may mix suites.
std::set<std::string> sweep_axes(const std::vector<RunRecords>& runs) {
  std::set<std::string> axes;
  for (const auto& run : runs)
    for (const auto& [axis, value] : run.sweep.items()) axes.insert(axis);
  return axes;
}

std::string number(double value) { return std::isnan(value) ? "" : shortest(value); }

std::string json_value(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return shortest(value.get<double>());
  return value.dump();
}

class Table {
 public:
  void add(const std::string& cell) { row_.push_back(csv_field(cell)); }
  void add(int64_t cell) { row_.push_back(std::to_string(cell)); }
  void add(double cell) { row_.push_back(number(cell)); }
  void end_row() {
    for (size_t i = 0; i < row_.size(); ++i) text_ += (i ? "," : "") + row_[i];
    text_ += "\n";
    row_.clear();
  }
  const std::string& text() const { return text_; }

 private:
  std::vector<std::string> row_;
  std::string text_;
};

void add_header(Table& table, const std::vector<std::string>& columns) {
  for (const auto& column : columns) table.add(column);
}

// The columns every row of a run starts with.
const std::vector<std::string> kRunColumns = {"run_id", "name", "architecture", "task", "seed"};

void add_run_cells(Table& table, const RunRecords& run, const std::set<std::string>& axes) {
  table.add(run.run_id);
  table.add(run.name);
  table.add(run.architecture);
  table.add(run.task);
  table.add(run.seed);
  for (const auto& axis : axes) {
    const auto value = run.sweep.find(axis);
    table.add(value == run.sweep.end() ? std::string() : json_value(*value));
  }
}

void add_accuracy_cells(Table& table, int64_t examples, int64_t strings_correct,
                        double string_accuracy, double char_accuracy) {
  const Interval interval = wilson_interval(strings_correct, examples);
  table.add(examples);
  table.add(strings_correct);
  table.add(string_accuracy);
  table.add(interval.low);
  table.add(interval.high);
  table.add(char_accuracy);
}

const std::vector<std::string> kAccuracyColumns = {
    "examples", "strings_correct", "string_accuracy", "wilson_low", "wilson_high", "char_accuracy"};

std::vector<std::string> header(const std::set<std::string>& axes,
                                const std::vector<std::string>& middle) {
  std::vector<std::string> columns = kRunColumns;
  for (const auto& axis : axes) columns.push_back("sweep." + axis);
  columns.insert(columns.end(), middle.begin(), middle.end());
  columns.insert(columns.end(), kAccuracyColumns.begin(), kAccuracyColumns.end());
  return columns;
}

}  // namespace

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string runs_csv(const std::vector<RunRecords>& runs) {
  const auto axes = sweep_axes(runs);
  Table table;
  add_header(table, header(axes, {"parameters", "max_train_length", "examples_seen", "eval_task",
                                  "length", "state_bits", "memory_bits", "bound"}));
  table.end_row();
  for (const auto& run : runs)
    for (const auto& record : run.lengths) {
      add_run_cells(table, run, axes);
      table.add(run.parameters);
      table.add(run.max_train_length);
      table.add(run.examples_seen);
      table.add(record.task);
      table.add(record.length);
      table.add(record.state_bits);
      if (record.memory_bits) {
        table.add(*record.memory_bits);
        table.add(memory_bound(static_cast<double>(record.state_bits), *record.memory_bits));
      } else {
        table.add(std::string());
        table.add(std::string());
      }
      add_accuracy_cells(table, record.examples, record.strings_correct, record.string_accuracy,
                         record.char_accuracy);
      table.end_row();
    }
  return table.text();
}

std::string curves_csv(const std::vector<RunRecords>& runs) {
  const auto axes = sweep_axes(runs);
  Table table;
  add_header(table, header(axes, {"step", "examples_seen", "loss", "length"}));
  table.end_row();
  for (const auto& run : runs)
    for (const auto& record : run.curve) {
      add_run_cells(table, run, axes);
      table.add(record.step);
      table.add(record.examples_seen);
      table.add(record.loss);
      table.add(record.length);
      add_accuracy_cells(table, record.examples, record.strings_correct, record.string_accuracy,
                         record.char_accuracy);
      table.end_row();
    }
  return table.text();
}

}  // namespace parrot
