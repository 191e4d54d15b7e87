// Parsing record lines with located, field-by-field errors.

#include "report_records.hpp"

#include "curve_schedule.hpp"

#include <parrot/error.hpp>

#include <fstream>
#include <limits>

namespace parrot {
namespace {

// JSON has no NaN: a writer stores a diverged loss or an unmeasurable speed as null.
constexpr double kNotANumber = std::numeric_limits<double>::quiet_NaN();

// One JSON line of a record file, read field by field; errors name the file, line and field.
class RecordLine {
 public:
  RecordLine(const nlohmann::json& record, std::string where)
      : record_(record), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& message) const {
    throw InputError(where_ + ": " + message + " (docs/results.md describes the records)");
  }

  const nlohmann::json& field(const char* key) const { return field_at({key}); }
  // A field inside objects: field_at({"config", "train", "steps"}); errors name the first key
  // missing by its dotted path.
  const nlohmann::json& field_at(std::initializer_list<const char*> path) const {
    const nlohmann::json* value = &record_;
    for (auto key = path.begin(); key != path.end(); ++key) {
      const auto found = value->is_object() ? value->find(*key) : value->end();
      if (found == value->end())
        fail(kind() + " record lacks '" + dotted(path.begin(), key + 1) + "'");
      value = &*found;
    }
    return *value;
  }
  int64_t integer(const char* key) const { return integer_at({key}); }
  int64_t integer_at(std::initializer_list<const char*> path) const {
    const auto& value = field_at(path);
    if (!value.is_number_integer())
      wrong_type(dotted(path.begin(), path.end()), "an integer", value);
    return value.get<int64_t>();
  }
  double number(const char* key) const {
    const auto& value = field(key);
    if (!value.is_number()) wrong_type(key, "a number", value);
    return value.get<double>();
  }
  std::optional<double> number_or_null(const char* key) const {
    const auto& value = field(key);
    if (value.is_null()) return std::nullopt;
    if (!value.is_number()) wrong_type(key, "a number or null", value);
    return value.get<double>();
  }
  std::string text(const char* key) const {
    const auto& value = field(key);
    if (!value.is_string()) wrong_type(key, "a string", value);
    return value.get<std::string>();
  }
  bool boolean(const char* key) const {
    const auto& value = field(key);
    if (!value.is_boolean()) wrong_type(key, "true or false", value);
    return value.get<bool>();
  }
  std::string kind() const {
    const auto found = record_.find("record");
    return found != record_.end() && found->is_string() ? found->get<std::string>() : "a";
  }

 private:
  // The keys in [begin, end) as "config.train.steps".
  static std::string dotted(const char* const* begin, const char* const* end) {
    std::string name;
    for (auto key = begin; key != end; ++key) name += (name.empty() ? "" : ".") + std::string(*key);
    return name;
  }
  [[noreturn]] void wrong_type(const std::string& key, const char* wanted,
                               const nlohmann::json& value) const {
    fail(kind() + " record: '" + key + "' must be " + wanted + ", got " + value.dump());
  }

  const nlohmann::json& record_;
  std::string where_;
};

RunRecords read_run_line(const RecordLine& line) {
  RunRecords run;
  run.run_id = line.text("run_id");
  run.name = line.text("name");
  run.architecture = line.text("architecture");
  run.task = line.text("task");
  const auto& eval_tasks = line.field("eval_tasks");
  if (!eval_tasks.is_array()) line.fail("run record: 'eval_tasks' must be an array of names");
  for (const auto& task : eval_tasks) {
    if (!task.is_string()) line.fail("run record: 'eval_tasks' must be an array of names");
    run.eval_tasks.push_back(task.get<std::string>());
  }
  run.seed = line.integer("seed");
  run.sweep = line.field("sweep");
  if (!run.sweep.is_object()) line.fail("run record: 'sweep' must be an object");
  run.max_train_length = line.integer("max_train_length");
  run.parameters = line.integer("parameters");
  run.steps = line.integer("steps");
  run.examples_seen = line.integer("examples_seen");
  run.stopped_early = line.boolean("stopped_early");
  const auto& examples_to = line.field("examples_to");
  if (!examples_to.is_object()) line.fail("run record: 'examples_to' must be an object");
  for (const auto& [threshold, examples] : examples_to.items()) {
    char* end = nullptr;
    const double share = std::strtod(threshold.c_str(), &end);
    if (threshold.empty() || *end != '\0')
      line.fail("run record: 'examples_to' key '" + threshold + "' is not a number");
    if (!examples.is_null() && !examples.is_number_integer())
      line.fail("run record: 'examples_to' values must be integers or null");
    run.examples_to[share] =
        examples.is_null() ? std::nullopt : std::optional<int64_t>(examples.get<int64_t>());
  }
  run.train_seconds = line.number("train_seconds");
  run.wall_seconds = line.number("wall_seconds");
  run.tokens_per_second = line.number_or_null("tokens_per_second").value_or(kNotANumber);
  run.device = line.text("device");
  const int64_t examples = line.integer_at({"config", "train", "examples"});
  run.examples_budget = examples > 0;
  run.curve_schedule = curve_schedule(
      line.integer_at({"config", "eval", "curve_points"}),
      run.examples_budget ? examples : line.integer_at({"config", "train", "steps"}));
  return run;
}

CurveRecord read_curve_line(const RecordLine& line) {
  return {line.integer("step"),
          line.integer("examples_seen"),
          line.number_or_null("loss").value_or(kNotANumber),
          line.text("task"),
          line.integer("length"),
          line.integer("examples"),
          line.integer("strings_correct"),
          line.number("string_accuracy"),
          line.number("char_accuracy")};
}

LengthRecord read_length_line(const RecordLine& line) {
  return {line.text("task"),
          line.integer("length"),
          line.integer("state_bits"),
          line.number_or_null("memory_bits"),
          line.integer("examples"),
          line.integer("strings_correct"),
          line.number("string_accuracy"),
          line.number("char_accuracy")};
}

}  // namespace

int64_t RunRecords::curve_point_of(const CurveRecord& point) const {
  return parrot::curve_point_of(curve_schedule, examples_budget ? point.examples_seen : point.step);
}

const LengthRecord* RunRecords::length_record(const std::string& eval_task, int64_t length) const {
  for (const auto& record : lengths)
    if (record.task == eval_task && record.length == length) return &record;
  return nullptr;
}

RunRecords read_run_records(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw InputError(file.string() + ": cannot be read");
  RunRecords run;
  bool have_run = false;
  int64_t number = 0;
  for (std::string text; std::getline(in, text);) {
    ++number;
    const std::string where = file.string() + ":" + std::to_string(number);
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& error) {
      throw InputError(where + ": not a JSON record: " + error.what());
    }
    if (!record.is_object()) throw InputError(where + ": a record must be a JSON object");
    const RecordLine line(record, where);
    const std::string kind = line.text("record");
    if (!have_run && kind != "run") line.fail("the first record must be the run record");
    if (kind == "run") {
      if (have_run) line.fail("a second run record");
      run = read_run_line(line);
      have_run = true;
      if (run.run_id != file.stem().string())
        line.fail("run_id '" + run.run_id + "' is not the file's name");
    } else if (kind == "curve") {
      run.curve.push_back(read_curve_line(line));
    } else if (kind == "length") {
      run.lengths.push_back(read_length_line(line));
    } else {
      line.fail("unknown record kind '" + kind + "' (expected run, curve or length)");
    }
  }
  if (!have_run) throw InputError(file.string() + ": empty record file, no run record");
  return run;
}

}  // namespace parrot
