// [[expect]]: reading (TOML or suite.json, through one validator), describing and judging.

#include "expectations.hpp"

#include "report_format.hpp"
#include "suggest.hpp"
#include "toml_params.hpp"

#include <parrot/error.hpp>

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <variant>

namespace parrot {
namespace {

const std::vector<std::string> kKeys = {"runs",    "better", "worse",     "metric",
                                        "task",    "length", "threshold", "at_least",
                                        "at_most", "by",     "factor"};
const std::vector<std::string> kMetrics = {"accuracy", "examples_to", "longest_length"};
// examples_to is read off the run record, which holds these thresholds only.
const std::vector<double> kExamplesToThresholds = {0.5, 0.9, 0.99};
constexpr double kNever = std::numeric_limits<double>::infinity();

// One key of a block with its value, whichever source it came from (TOML or suite.json), so
// that both are checked by the same code. monostate: a type no key accepts.
struct Field {
  std::string key;
  std::variant<std::monostate, bool, int64_t, double, std::string> value;
  std::string type;   // "a string", "an int", ... for messages
  std::string where;  // "suite.toml:12:1"
};

struct Block {
  std::string where;
  std::vector<Field> fields;
};

[[noreturn]] void fail_at(const std::string& where, const std::string& message) {
  throw InputError(where + ": [[expect]]: " + message);
}
[[noreturn]] void fail_at(const Field& field, const std::string& message) {
  fail_at(field.where, field.key + ": " + message);
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string joined;
  for (const auto& item : items) joined += (joined.empty() ? "" : separator) + item;
  return joined;
}

std::string text_of(const Field& field) {
  if (const auto* text = std::get_if<std::string>(&field.value)) return *text;
  fail_at(field, "must be a string, got " + field.type);
}

double number_of(const Field& field) {
  if (const auto* integer = std::get_if<int64_t>(&field.value))
    return static_cast<double>(*integer);
  if (const auto* real = std::get_if<double>(&field.value)) return *real;
  fail_at(field, "must be a number, got " + field.type);
}

// "2x", "1.5x": a multiple of the run's longest training length.
std::optional<double> multiple_in(const std::string& text) {
  if (text.size() < 2 || text.back() != 'x') return std::nullopt;
  const std::string number = text.substr(0, text.size() - 1);
  if (number.find_first_not_of("0123456789.") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  const double multiple = std::strtod(number.c_str(), &end);
  if (*end != '\0' || !(multiple > 0)) return std::nullopt;
  return multiple;
}

Quantity length_of(const Field& field) {
  if (const auto* integer = std::get_if<int64_t>(&field.value)) {
    if (*integer <= 0) fail_at(field, "must be > 0, got " + std::to_string(*integer));
    return {static_cast<double>(*integer), false};
  }
  if (const auto* text = std::get_if<std::string>(&field.value))
    if (const auto multiple = multiple_in(*text)) return {*multiple, true};
  fail_at(field, "must be an int or a multiple of the longest training length like \"2x\", got " +
                     (std::holds_alternative<std::string>(field.value)
                          ? "\"" + std::get<std::string>(field.value) + "\""
                          : field.type));
}

Quantity bound_of(const Field& field, Metric metric) {
  if (metric == Metric::kLongestLength && std::holds_alternative<std::string>(field.value))
    return length_of(field);
  const double bound = number_of(field);
  if (metric == Metric::kAccuracy && (bound < 0 || bound > 1))
    fail_at(field, "an accuracy bound must be in [0, 1], got " + shortest(bound));
  if (bound < 0) fail_at(field, "must be >= 0, got " + shortest(bound));
  return {bound, false};
}

std::string glob_of(const Field& field) {
  const std::string glob = text_of(field);
  if (glob.empty()) fail_at(field, "must be a glob over run names, like \"hard_alibi*\"");
  return glob;
}

// Every rule of docs/expectations.md, in one place for both sources.
Expectation parse(const Block& block) {
  std::map<std::string, const Field*> given;
  for (const auto& field : block.fields) {
    if (std::find(kKeys.begin(), kKeys.end(), field.key) == kKeys.end())
      fail_at(field.where, "unknown key '" + field.key + "'" + did_you_mean(field.key, kKeys) +
                               "; known: " + join(kKeys, ", "));
    given[field.key] = &field;
  }
  const auto get = [&](const std::string& key) -> const Field* {
    const auto found = given.find(key);
    return found == given.end() ? nullptr : found->second;
  };
  const auto reject = [&](const std::string& key, const std::string& why) {
    if (const Field* field = get(key)) fail_at(*field, why);
  };

  Expectation expectation;
  expectation.where = block.where;
  if (const Field* field = get("metric")) {
    const std::string metric = text_of(*field);
    const auto found = std::find(kMetrics.begin(), kMetrics.end(), metric);
    if (found == kMetrics.end())
      fail_at(*field, "unknown metric '" + metric + "'" + did_you_mean(metric, kMetrics) +
                          "; known: " + join(kMetrics, ", "));
    expectation.metric = static_cast<Metric>(found - kMetrics.begin());
  }
  const Metric metric = expectation.metric;
  const std::string metric_name = to_string(metric);

  if (metric == Metric::kExamplesTo) {
    reject("task", "does not apply to examples_to, which is read off the training task's curve");
  } else if (const Field* field = get("task")) {
    expectation.task = text_of(*field);
    if (expectation.task->empty()) fail_at(*field, "must name an evaluation task");
  }

  if (metric == Metric::kAccuracy) {
    const Field* field = get("length");
    if (!field) fail_at(block.where, "metric accuracy needs length = N or \"2x\"");
    expectation.length = length_of(*field);
    reject("threshold", "does not apply to accuracy: compare it with at_least / at_most or by");
  } else {
    reject("length", "does not apply to " + metric_name);
    const Field* field = get("threshold");
    if (!field)
      fail_at(block.where, "metric " + metric_name +
                               " needs threshold = the string accuracy to reach, like 0.9");
    expectation.threshold = number_of(*field);
    if (metric == Metric::kExamplesTo &&
        std::find(kExamplesToThresholds.begin(), kExamplesToThresholds.end(),
                  expectation.threshold) == kExamplesToThresholds.end())
      fail_at(*field, "examples_to is recorded for 0.5, 0.9 and 0.99 only, got " +
                          shortest(expectation.threshold));
    if (!(expectation.threshold > 0 && expectation.threshold <= 1))
      fail_at(*field, "must be in (0, 1], got " + shortest(expectation.threshold));
  }

  if (get("better") || get("worse")) {
    reject("runs", "a comparison names better and worse instead of runs");
    if (!get("better") || !get("worse"))
      fail_at(block.where, "a comparison needs both better and worse");
    expectation.better = glob_of(*get("better"));
    expectation.worse = glob_of(*get("worse"));
    for (const char* key : {"at_least", "at_most"})
      reject(key, "bounds a threshold (runs = ...); a comparison takes " +
                      std::string(metric == Metric::kExamplesTo ? "factor" : "by"));
    if (metric == Metric::kExamplesTo) {
      reject("by", "an examples_to comparison takes factor = N: mean(worse) / mean(better) >= N");
      const Field* field = get("factor");
      if (!field)
        fail_at(block.where,
                "an examples_to comparison needs factor = N: mean(worse) / mean(better) >= N");
      expectation.factor = number_of(*field);
      if (!(*expectation.factor > 0))
        fail_at(*field, "must be > 0, got " + shortest(*expectation.factor));
    } else {
      reject("factor", "applies to examples_to comparisons; " + metric_name + " takes by");
      const Field* field = get("by");
      if (!field)
        fail_at(block.where,
                "a comparison needs by = the least margin, mean(better) - "
                "mean(worse) >= by (by = 0: better at least as good)");
      expectation.by = number_of(*field);
    }
  } else {
    expectation.runs = get("runs") ? glob_of(*get("runs")) : "*";
    for (const char* key : {"by", "factor"})
      reject(key, "applies to a comparison (better = ..., worse = ...)");
    const Field* at_least = get("at_least");
    const Field* at_most = get("at_most");
    if (at_least && at_most) fail_at(*at_most, "give at_least or at_most, not both");
    if (!at_least && !at_most)
      fail_at(block.where,
              "a threshold needs at_least = ... or at_most = ... (or better/worse "
              "for a comparison)");
    if (at_least) expectation.at_least = bound_of(*at_least, metric);
    if (at_most) expectation.at_most = bound_of(*at_most, metric);
  }
  return expectation;
}

Field field_of(const std::string& key, const toml::node& node, const std::string& where) {
  Field field{key, std::monostate{}, "", where};
  if (const auto* text = node.as_string()) {
    field.value = text->get(), field.type = "a string";
  } else if (const auto* integer = node.as_integer()) {
    field.value = integer->get(), field.type = "an int";
  } else if (const auto* real = node.as_floating_point()) {
    field.value = real->get(), field.type = "a float";
  } else if (const auto* flag = node.as_boolean()) {
    field.value = flag->get(), field.type = "a bool";
  } else {
    field.type = node.is_array() ? "an array" : node.is_table() ? "a table" : "a date or time";
  }
  return field;
}

Field field_of(const std::string& key, const nlohmann::json& value, const std::string& where) {
  Field field{key, std::monostate{}, "", where};
  if (value.is_string()) {
    field.value = value.get<std::string>(), field.type = "a string";
  } else if (value.is_number_integer()) {
    field.value = value.get<int64_t>(), field.type = "an int";
  } else if (value.is_number()) {
    field.value = value.get<double>(), field.type = "a float";
  } else if (value.is_boolean()) {
    field.value = value.get<bool>(), field.type = "a bool";
  } else {
    field.type = value.is_null() ? "null" : value.is_array() ? "an array" : "an object";
  }
  return field;
}

nlohmann::json quantity_json(const Quantity& quantity) {
  if (quantity.times_max_train_length) return quantity.str();
  // Whole numbers stay ints, so that a stored length reads back as one.
  if (quantity.value == std::floor(quantity.value) && std::abs(quantity.value) < 1e15)
    return static_cast<int64_t>(quantity.value);
  return quantity.value;
}

// ---- judging ----

bool matches(const std::string& glob, const std::string& name) {
  return ::fnmatch(glob.c_str(), name.c_str(), 0) == 0;
}

std::vector<const RunRecords*> matching(const std::string& glob,
                                        const std::vector<RunRecords>& runs) {
  std::vector<const RunRecords*> matched;
  for (const auto& run : runs)
    if (matches(glob, run.name)) matched.push_back(&run);
  return matched;
}

std::vector<std::string> matching(const std::string& glob, const std::vector<std::string>& names) {
  std::vector<std::string> matched;
  for (const auto& name : names)
    if (matches(glob, name)) matched.push_back(name);
  return matched;
}

// "a, b, c and 4 more": enough names to act on, short enough for one line.
std::string some_of(const std::vector<std::string>& names) {
  constexpr size_t kShown = 3;
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(names.size(), kShown));
  std::string text = join(shown, ", ");
  if (names.size() > kShown) text += " and " + std::to_string(names.size() - kShown) + " more";
  return text;
}

std::string count_of(size_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

std::string eval_task_of(const Expectation& expectation, const RunRecords& run) {
  return expectation.task ? *expectation.task : run.task;
}

// The metric phrase; with runs, the task and a "2x" length resolved where all runs agree.
std::string metric_phrase(const Expectation& expectation,
                          const std::vector<const RunRecords*>& runs) {
  std::string task;
  if (expectation.task) {
    task = " on " + *expectation.task;
  } else if (!runs.empty()) {
    std::set<std::string> tasks;
    for (const auto* run : runs) tasks.insert(run->task);
    task = tasks.size() == 1 ? " on " + *tasks.begin() : " on each run's training task";
  }
  switch (expectation.metric) {
    case Metric::kAccuracy: {
      std::string length = expectation.length->str();
      std::set<int64_t> resolved;
      for (const auto* run : runs)
        resolved.insert(std::llround(expectation.length->resolve(run->max_train_length)));
      if (expectation.length->times_max_train_length && resolved.size() == 1)
        length += " (" + std::to_string(*resolved.begin()) + ")";
      return "accuracy" + task + " at length " + length;
    }
    case Metric::kExamplesTo:
      return "examples to " + percent(expectation.threshold);
    case Metric::kLongestLength:
      return "longest length reaching " + shortest(expectation.threshold) + " accuracy" + task;
  }
  throw std::logic_error("unhandled metric");
}

// A run's value of the metric, or why it has none.
struct Reading {
  double value = 0;
  std::string missing;
};

std::string evaluated_lengths(const RunRecords& run, const std::string& task) {
  std::vector<std::string> lengths;
  for (const auto& record : run.lengths)
    if (record.task == task) lengths.push_back(std::to_string(record.length));
  if (lengths.empty()) return " (it has no evaluation on " + task + ")";
  return " (evaluated: " + join(lengths, ", ") + ")";
}

Reading read_metric(const Expectation& expectation, const RunRecords& run) {
  const std::string task = eval_task_of(expectation, run);
  switch (expectation.metric) {
    case Metric::kAccuracy: {
      const int64_t length = std::llround(expectation.length->resolve(run.max_train_length));
      if (const auto* record = run.length_record(task, length))
        return {record->string_accuracy, ""};
      return {0, run.name + " has no accuracy on " + task + " at length " + std::to_string(length) +
                     evaluated_lengths(run, task)};
    }
    case Metric::kExamplesTo: {
      const auto found = run.examples_to.find(expectation.threshold);
      if (found == run.examples_to.end())
        return {0, run.name + " records no examples_to for " + shortest(expectation.threshold)};
      return {found->second ? static_cast<double>(*found->second) : kNever, ""};
    }
    case Metric::kLongestLength: {
      bool evaluated = false;
      double longest = 0;
      for (const auto& record : run.lengths) {
        if (record.task != task) continue;
        evaluated = true;
        if (record.string_accuracy >= expectation.threshold)
          longest = std::max(longest, static_cast<double>(record.length));
      }
      if (!evaluated) return {0, run.name + " has no evaluation on " + task};
      return {longest, ""};
    }
  }
  throw std::logic_error("unhandled metric");
}

double mean_of(const std::vector<double>& values) {
  double sum = 0;
  for (double value : values) sum += value;
  return sum / static_cast<double>(values.size());
}

// The values of `runs`, or the first reason one is missing.
std::optional<std::string> read_all(const Expectation& expectation,
                                    const std::vector<const RunRecords*>& runs,
                                    std::vector<double>& values) {
  for (const auto* run : runs) {
    const Reading reading = read_metric(expectation, *run);
    if (!reading.missing.empty()) return reading.missing;
    values.push_back(reading.value);
  }
  return std::nullopt;
}

// Why `glob` cannot be judged (no run, or some matching runs have no records); empty if it can.
std::string unjudgeable(const std::string& glob, const std::vector<const RunRecords*>& matched,
                        const std::vector<std::string>& not_run) {
  const auto missing = matching(glob, not_run);
  if (!missing.empty())
    return count_of(missing.size(), "run") + " matching '" + glob +
           "' not run (no record file): " + some_of(missing);
  if (matched.empty()) return "no run matches '" + glob + "'";
  return "";
}

Verdict judge_threshold(const Expectation& expectation, const std::vector<RunRecords>& runs,
                        const std::vector<std::string>& not_run) {
  const auto matched = matching(expectation.runs, runs);
  const std::string subject = expectation.runs + " " + metric_phrase(expectation, matched) + ": ";
  Verdict verdict{describe(expectation), expectation.where, false, ""};
  if (const std::string why = unjudgeable(expectation.runs, matched, not_run); !why.empty()) {
    verdict.description = subject + why;
    return verdict;
  }
  std::vector<double> values;
  if (const auto missing = read_all(expectation, matched, values)) {
    verdict.description = subject + *missing;
    return verdict;
  }
  const bool at_least = expectation.at_least.has_value();
  const Quantity& bound = at_least ? *expectation.at_least : *expectation.at_most;
  // Every run must hold; the worst one (least margin) is the number worth printing.
  size_t worst = 0;
  double worst_margin = kNever;
  std::vector<std::string> failing;
  for (size_t i = 0; i < matched.size(); ++i) {
    const double limit = bound.resolve(matched[i]->max_train_length);
    const double margin = at_least ? values[i] - limit : limit - values[i];
    if (margin < 0) failing.push_back(matched[i]->name);
    if (i == 0 || margin < worst_margin) worst = i, worst_margin = margin;
  }
  verdict.passed = failing.empty();
  const double limit = bound.resolve(matched[worst]->max_train_length);
  const bool several = matched.size() > 1;
  std::string& text = verdict.description;
  text = subject + (several ? (at_least ? "lowest " : "highest ") : "") + readable(values[worst]);
  text += verdict.passed ? (at_least ? " >= " : " <= ") : (at_least ? " < " : " > ");
  text += (bound.times_max_train_length ? bound.str() + " = " : "") + readable(limit);
  text += " (" + count_of(matched.size(), "run");
  if (several) text += ", mean " + readable(mean_of(values));
  text += ")";
  if (!failing.empty()) text += "; failing: " + some_of(failing);
  return verdict;
}

Verdict judge_comparison(const Expectation& expectation, const std::vector<RunRecords>& runs,
                         const std::vector<std::string>& not_run) {
  const auto better = matching(expectation.better, runs);
  const auto worse = matching(expectation.worse, runs);
  std::vector<const RunRecords*> both = better;
  both.insert(both.end(), worse.begin(), worse.end());
  const std::string subject = expectation.better + " vs " + expectation.worse + " " +
                              metric_phrase(expectation, both) + ": ";
  Verdict verdict{describe(expectation), expectation.where, false, ""};
  const std::vector<std::pair<const std::string*, const std::vector<const RunRecords*>*>> sides = {
      {&expectation.better, &better}, {&expectation.worse, &worse}};
  std::vector<double> better_values, worse_values;
  for (const auto& [glob, matched] : sides) {
    std::string why = unjudgeable(*glob, *matched, not_run);
    if (why.empty())
      why = read_all(expectation, *matched, matched == &better ? better_values : worse_values)
                .value_or("");
    if (!why.empty()) {
      verdict.description = subject + why;
      return verdict;
    }
  }
  const double better_mean = mean_of(better_values);
  const double worse_mean = mean_of(worse_values);
  const std::string means = "means of " + std::to_string(better.size()) + " and " +
                            std::to_string(worse.size()) + " runs";
  std::string& text = verdict.description;
  if (expectation.metric == Metric::kExamplesTo) {
    // A better side that never gets there cannot be faster by any factor (the ratio is 0 or
    // undefined). A worse run that never gets there needed more than the examples it saw: those
    // count, which makes the ratio a lower bound; one below the factor leaves the claim undecided.
    std::vector<std::string> censored, better_never;
    for (size_t i = 0; i < better.size(); ++i)
      if (std::isinf(better_values[i])) better_never.push_back(better[i]->name);
    double worse_sum = 0;
    for (size_t i = 0; i < worse.size(); ++i) {
      const bool never = std::isinf(worse_values[i]);
      if (never) censored.push_back(worse[i]->name);
      worse_sum += never ? static_cast<double>(worse[i]->examples_seen) : worse_values[i];
    }
    const double worse_bound = worse_sum / static_cast<double>(worse.size());
    const double ratio = worse_bound / better_mean;
    verdict.passed = ratio >= *expectation.factor;
    const std::string ratio_text = std::isnan(ratio) ? "undefined" : readable(ratio);
    text = subject + (censored.empty() ? "" : "at least ") + readable(worse_bound) + " / " +
           readable(better_mean) + " = " + ratio_text + (verdict.passed ? " >= " : " < ") +
           readable(*expectation.factor) + " (worse / better, " + means;
    if (!censored.empty())
      text += "; " + some_of(censored) + " never got there, counted at the examples " +
              (censored.size() > 1 ? "they" : "it") + " saw";
    if (!better_never.empty())
      text += "; " + some_of(better_never) + " never got there, so " + expectation.better +
              " is faster by no factor";
    text += ")";
    if (!censored.empty() && !verdict.passed && std::isfinite(better_mean))
      text += ": train " + expectation.worse + " longer to decide";
  } else {
    const double margin = better_mean - worse_mean;
    verdict.passed = margin >= *expectation.by;
    text = subject + readable(better_mean) + " - " + readable(worse_mean) + " = " +
           readable(margin) + (verdict.passed ? " >= " : " < ") + readable(*expectation.by) + " (" +
           means + ")";
  }
  return verdict;
}

}  // namespace

const char* to_string(Metric metric) {
  switch (metric) {
    case Metric::kAccuracy:
      return "accuracy";
    case Metric::kExamplesTo:
      return "examples_to";
    case Metric::kLongestLength:
      return "longest_length";
  }
  throw std::logic_error("unhandled metric");
}

double Quantity::resolve(int64_t max_train_length) const {
  return times_max_train_length ? value * static_cast<double>(max_train_length) : value;
}

std::string Quantity::str() const { return shortest(value) + (times_max_train_length ? "x" : ""); }

std::vector<Expectation> read_expectations(const toml::node* expect) {
  if (!expect) return {};
  const toml::array* blocks = expect->as_array();
  if (!blocks)
    throw InputError(location_of(*expect).str() +
                     ": expect must be an array of tables: write each block as [[expect]]");
  std::vector<Expectation> expectations;
  for (const auto& node : *blocks) {
    const toml::table* table = node.as_table();
    if (!table)
      throw InputError(location_of(node).str() +
                       ": expect must be an array of tables: write each block as [[expect]]");
    Block block{location_of(node).str(), {}};
    for (const auto& [key, value] : *table)
      block.fields.push_back(
          field_of(std::string(key.str()), value, location_of(key.source()).str()));
    expectations.push_back(parse(block));
  }
  return expectations;
}

nlohmann::json expectations_to_json(const std::vector<Expectation>& expectations) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& expectation : expectations) {
    nlohmann::json object = {{"where", expectation.where},
                             {"metric", to_string(expectation.metric)}};
    if (expectation.is_comparison()) {
      object["better"] = expectation.better;
      object["worse"] = expectation.worse;
    } else {
      object["runs"] = expectation.runs;
    }
    if (expectation.task) object["task"] = *expectation.task;
    if (expectation.length) object["length"] = quantity_json(*expectation.length);
    if (expectation.metric != Metric::kAccuracy) object["threshold"] = expectation.threshold;
    if (expectation.at_least) object["at_least"] = quantity_json(*expectation.at_least);
    if (expectation.at_most) object["at_most"] = quantity_json(*expectation.at_most);
    if (expectation.by) object["by"] = *expectation.by;
    if (expectation.factor) object["factor"] = *expectation.factor;
    list.push_back(std::move(object));
  }
  return list;
}

std::vector<Expectation> expectations_from_json(const nlohmann::json& expectations,
                                                const std::string& source) {
  if (!expectations.is_array())
    throw InputError(source + ": 'expectations' must be an array of objects");
  std::vector<Expectation> parsed;
  for (size_t i = 0; i < expectations.size(); ++i) {
    const std::string where = source + ": expectations[" + std::to_string(i) + "]";
    const nlohmann::json& object = expectations[i];
    if (!object.is_object()) throw InputError(where + ": must be an object");
    Block block{where, {}};
    for (const auto& [key, value] : object.items()) {
      if (key == "where") continue;
      block.fields.push_back(field_of(key, value, where));
    }
    Expectation expectation = parse(block);
    // Verdicts point at the suite file the block was written in, not at suite.json.
    const auto written = object.find("where");
    if (written != object.end() && written->is_string())
      expectation.where = written->get<std::string>();
    parsed.push_back(std::move(expectation));
  }
  return parsed;
}

std::string describe(const Expectation& expectation) {
  const std::string metric = metric_phrase(expectation, {});
  if (expectation.is_comparison()) {
    const std::string margin = expectation.metric == Metric::kExamplesTo
                                   ? " by a factor >= " + shortest(*expectation.factor)
                                   : " by >= " + shortest(*expectation.by);
    return expectation.better + " beats " + expectation.worse + " on " + metric + margin;
  }
  const bool at_least = expectation.at_least.has_value();
  return expectation.runs + " " + metric + (at_least ? " >= " : " <= ") +
         (at_least ? *expectation.at_least : *expectation.at_most).str();
}

std::vector<Verdict> judge(const std::vector<Expectation>& expectations,
                           const std::vector<RunRecords>& runs,
                           const std::vector<std::string>& not_run) {
  std::vector<Verdict> verdicts;
  for (const auto& expectation : expectations)
    verdicts.push_back(expectation.is_comparison() ? judge_comparison(expectation, runs, not_run)
                                                   : judge_threshold(expectation, runs, not_run));
  return verdicts;
}

}  // namespace parrot
