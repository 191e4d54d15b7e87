// Markdown tables of the grouped results.

#include "report_markdown.hpp"

#include "report_format.hpp"
#include "report_groups.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace parrot {
namespace {

void table_row(std::ostringstream& out, const std::vector<std::string>& cells) {
  out << "|";
  for (const auto& cell : cells) out << " " << markdown_cell(cell) << " |";
  out << "\n";
}

// A header row and its alignment row: the first `text_columns` left, the numbers after right.
void table_header(std::ostringstream& out, const std::vector<std::string>& columns,
                  size_t text_columns = 1) {
  table_row(out, columns);
  out << "|";
  for (size_t i = 0; i < columns.size(); ++i) out << (i < text_columns ? " --- |" : " ---: |");
  out << "\n";
}

// Examples to reach a threshold over seeds: the mean when every seed got there.
std::string examples_to_cell(const RunGroup& group, double threshold) {
  double sum = 0;
  size_t reached = 0;
  for (const auto* run : group.runs) {
    const auto found = run->examples_to.find(threshold);
    if (found != run->examples_to.end() && found->second) {
      sum += static_cast<double>(*found->second);
      ++reached;
    }
  }
  if (reached == group.runs.size()) return compact_count(sum / reached);
  if (reached == 0) return "never";
  return "never in " + std::to_string(group.runs.size() - reached) + "/" +
         std::to_string(group.runs.size()) + " seeds";
}

// A value over seeds that should not vary with the seed (parameters, training length): one
// number, or the range if it does vary.
template <typename Value>
std::string same_over_seeds(const RunGroup& group, Value RunRecords::*field,
                            std::string (*format)(double)) {
  auto [low, high] = std::minmax_element(
      group.runs.begin(), group.runs.end(),
      [&](const RunRecords* a, const RunRecords* b) { return a->*field < b->*field; });
  const std::string first = format(static_cast<double>((*low)->*field));
  if ((*low)->*field == (*high)->*field) return first;
  return first + "-" + format(static_cast<double>((*high)->*field));
}

std::string mean_examples_seen(const RunGroup& group) {
  double sum = 0;
  for (const auto* run : group.runs) sum += static_cast<double>(run->examples_seen);
  return compact_count(sum / group.runs.size());
}

std::string accuracy_cell(const LengthSummary& summary) {
  return fixed(summary.mean_accuracy, 2) + " [" + fixed(summary.interval.low, 2) + ", " +
         fixed(summary.interval.high, 2) + "]";
}

// State bits; where they are fewer than the task needs, the bound that follows, as a power of
// two when it is too small to read as a decimal.
std::string state_bits_cell(const LengthSummary& summary) {
  std::string cell = compact_count(summary.state_bits);
  if (!summary.memory_bits || summary.state_bits >= *summary.memory_bits) return cell;
  const double exponent = summary.state_bits - *summary.memory_bits;
  const double bound = std::exp2(exponent);
  return cell + ", bound " + (bound >= 0.001 ? readable(bound) : "2^" + fixed(exponent, 1));
}

// A column of an evaluation table: one evaluation task at one length.
struct Column {
  std::string task;
  int64_t length;
  std::string header;
};

// The string accuracy, letter accuracy and state-bits tables of `columns`, one row per group;
// `what` ends the headings ("on copy", "by evaluation task at L=50").
void write_evaluation_tables(std::ostringstream& out, const std::string& what,
                             const std::vector<Column>& columns,
                             const std::vector<RunGroup>& groups,
                             const std::vector<std::vector<LengthSummary>>& summaries,
                             bool one_training_length) {
  std::vector<std::string> header = {"architecture"};
  for (const auto& column : columns) header.push_back(column.header);
  const auto cell = [&](size_t g, const Column& column) -> const LengthSummary* {
    for (const auto& summary : summaries[g])
      if (summary.task == column.task && summary.length == column.length) return &summary;
    return nullptr;
  };

  // A table: `first` (when given), then one row per group; `text` fills a cell that was
  // evaluated, "-" the others.
  const auto write_table = [&](const auto& text, const std::vector<std::string>& first = {}) {
    table_header(out, header);
    if (!first.empty()) table_row(out, first);
    for (size_t g = 0; g < groups.size(); ++g) {
      std::vector<std::string> row = {groups[g].label};
      for (const auto& column : columns) {
        const LengthSummary* found = cell(g, column);
        row.push_back(found ? text(g, column, *found) : "-");
      }
      table_row(out, row);
    }
    out << "\n";
  };

  out << "### String accuracy " << what << "\n\n"
      << "Mean over seeds [95% Wilson interval over the pooled examples of all seeds]; * = "
         "beyond the longest training length.\n\n";
  write_table([&](size_t g, const Column& column, const LengthSummary& found) {
    const int64_t trained = groups[g].runs.front()->max_train_length;
    return accuracy_cell(found) + (!one_training_length && column.length > trained ? "*" : "");
  });

  out << "### Letter accuracy " << what << "\n\n"
      << "Share of answer letters right, mean over seeds. Where errors fall independently, a "
         "string of L letters is all right with probability about (letter accuracy)^L: 0.999 a "
         "letter gives 0.37 at L = 1000.\n\n";
  write_table([](size_t, const Column&, const LengthSummary& found) {
    return fixed(found.mean_char_accuracy, 4);
  });

  out << "### State bits " << what << "\n\n"
      << "Bits a model keeps to continue a sequence of that length; where they are fewer than "
         "the task needs, the string accuracy it can reach is at most 2^(state - needed).\n\n";
  std::vector<std::string> needed = {"task needs"};
  for (const auto& column : columns) {
    std::string needs = "-";
    for (size_t g = 0; g < groups.size(); ++g)
      if (const LengthSummary* found = cell(g, column); found && found->memory_bits)
        needs = fixed(*found->memory_bits, 1);
    needed.push_back(needs);
  }
  write_table(
      [](size_t, const Column&, const LengthSummary& found) { return state_bits_cell(found); },
      needed);
}

void write_task_section(std::ostringstream& out, const std::string& task,
                        const std::vector<RunGroup>& groups) {
  out << "## Trained on " << task << "\n\n";
  table_header(out, {"architecture", "seeds", "parameters", "trained up to", "examples seen",
                     "to 50%", "to 90%", "to 99%"});
  std::set<int64_t> trained_up_to;
  for (const auto& group : groups) {
    table_row(out, {group.label, std::to_string(group.runs.size()),
                    same_over_seeds(group, &RunRecords::parameters, &compact_count),
                    same_over_seeds(group, &RunRecords::max_train_length, &readable),
                    mean_examples_seen(group), examples_to_cell(group, 0.5),
                    examples_to_cell(group, 0.9), examples_to_cell(group, 0.99)});
    for (const auto* run : group.runs) trained_up_to.insert(run->max_train_length);
  }
  out << "\n";

  std::vector<std::vector<LengthSummary>> summaries;
  for (const auto& group : groups) summaries.push_back(summarize_lengths(group));
  // With one training length for all, lengths beyond it are marked in the header; otherwise
  // in each cell beyond its own group's training length.
  const bool one_training_length = trained_up_to.size() == 1;
  const auto column = [&](const std::string& eval_task, int64_t length, std::string header) {
    if (one_training_length && length > *trained_up_to.begin()) header += "*";
    return Column{eval_task, length, std::move(header)};
  };
  const EvaluationLayout layout = evaluation_layout(groups);
  for (const auto& [eval_task, lengths] : layout.over_lengths) {
    std::vector<Column> columns;
    for (int64_t length : lengths)
      columns.push_back(column(eval_task, length, "L=" + std::to_string(length)));
    write_evaluation_tables(out, "on " + eval_task, columns, groups, summaries,
                            one_training_length);
  }
  for (const auto& [length, eval_tasks] : layout.over_tasks) {
    std::vector<Column> columns;
    for (const auto& eval_task : eval_tasks)
      columns.push_back(column(eval_task, length, eval_task));
    write_evaluation_tables(out, "by evaluation task at L=" + std::to_string(length), columns,
                            groups, summaries, one_training_length);
  }
}

void write_verdicts(std::ostringstream& out, const std::vector<Verdict>& verdicts) {
  out << "## Expectations\n\n";
  if (verdicts.empty()) {
    out << "The suite has no [[expect]] blocks.\n\n";
    return;
  }
  table_header(out, {"result", "expectation", "measured", "where"}, 4);
  for (const auto& verdict : verdicts)
    table_row(out, {verdict.passed ? "✅ pass" : "❌ fail", verdict.expectation, verdict.description,
                    verdict.where});
  out << "\n";
}

void write_runs(std::ostringstream& out, const ResultsFolder& results) {
  out << "## Runs\n\n";
  table_header(out,
               {"run", "id", "device", "stopped early", "examples seen", "steps", "train seconds",
                "tokens/s"},
               4);
  for (const auto& run : results.runs)
    table_row(out,
              {run.name, run.run_id, run.device, run.stopped_early ? "yes" : "no",
               compact_count(static_cast<double>(run.examples_seen)), std::to_string(run.steps),
               fixed(run.train_seconds, 1),
               std::isnan(run.tokens_per_second) ? "-" : compact_count(run.tokens_per_second)});
  out << "\n";
  if (!results.not_run.empty()) {
    out << "Not run (listed in suite.json, no record file):\n\n";
    for (const auto& run : results.not_run)
      out << "- " << markdown_cell(run.name) << " (" << run.run_id << ")\n";
    out << "\n";
  }
  if (!results.unlisted.empty())
    out << results.unlisted.size()
        << " record files of runs that suite.json does not list (an earlier version of the "
           "suite) were left out.\n\n";
}

}  // namespace

std::string markdown_cell(const std::string& text) {
  std::string cell;
  for (char c : text) {
    if (c == '|')
      cell += "\\|";
    else if (c == '\n' || c == '\r')
      cell += ' ';
    else
      cell += c;
  }
  return cell;
}

std::string markdown_report(const ResultsFolder& results, const std::vector<Verdict>& verdicts) {
  std::ostringstream out;
  const size_t failed =
      std::count_if(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return !v.passed; });
  out << "# parrot report: " << markdown_cell(results.suite) << "\n\n"
      << results.runs.size() << " runs finished";
  if (!results.not_run.empty()) out << ", " << results.not_run.size() << " not run";
  out << ". Expectations: " << verdicts.size() - failed << " passed, " << failed << " failed.";
  if (!results.suite_file.empty()) out << " Suite file: `" << results.suite_file << "`.";
  out << "\n\n";

  std::vector<std::string> tasks;
  const auto groups = group_runs(results.runs);
  for (const auto& group : groups)
    if (std::find(tasks.begin(), tasks.end(), group.task) == tasks.end())
      tasks.push_back(group.task);
  for (const auto& task : tasks) {
    std::vector<RunGroup> trained_on_task;
    for (const auto& group : groups)
      if (group.task == task) trained_on_task.push_back(group);
    write_task_section(out, task, trained_on_task);
  }
  write_verdicts(out, verdicts);
  write_runs(out, results);
  return out.str();
}

}  // namespace parrot
