// The HTML page: chart specs from the grouped results, the libraries inlined, and a script that
// embeds every chart and records what it drew.

#include "report_html.hpp"

#include "report_format.hpp"
#include "report_groups.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace parrot {
namespace {

const char* const kSchema = "https://vega.github.io/schema/vega-lite/v6.json";
const char* const kAccuracySeries = "string accuracy";
const char* const kBoundSeries = "memory bound";

// Code inside <script> ends at the first "</script"; "<\/" means the same to JavaScript (in
// strings and regular expressions alike) and to the HTML parser is no end tag.
std::string script_safe(const std::string& code) {
  std::string safe;
  safe.reserve(code.size());
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i] == '<' && i + 1 < code.size() && code[i + 1] == '/') {
      std::string next = code.substr(i + 2, 6);
      std::transform(next.begin(), next.end(), next.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      if (next == "script") {
        safe += "<\\/";
        ++i;
        continue;
      }
    }
    safe += code[i];
  }
  return safe;
}

// JSON inside <script>: '<' only occurs in JSON strings, where \u003c means the same, so no
// "</script" or "<!--" from a run name can end or confuse the element.
std::string json_in_script(const nlohmann::json& value) {
  std::string text;
  for (char c : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
    text += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return text;
}

std::string read_library(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw std::runtime_error(
        "report.html needs " + file.string() +
        ", which the build installs with npm ci from web/report/package-lock.json: install "
        "nodejs and npm (scripts/setup.sh does) and build again");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A length axis: log 2, ticks at the evaluated lengths, padded so that a rule at the shortest
// length does not hide under the axis. The same for every layer, whose field it names.
nlohmann::json length_axis(const std::string& field, const std::set<int64_t>& lengths) {
  return {{"field", field},
          {"type", "quantitative"},
          {"scale", {{"type", "log"}, {"base", 2}, {"nice", false}, {"padding", 16}}},
          {"axis", {{"values", lengths}}},
          {"title", "length (log scale)"}};
}

// One colour per group, and room in the legend for names that carry their sweep
// ("transformer@positional=hard_alibi"), which vega-lite would cut at 160 pixels.
nlohmann::json architecture_color() {
  return {{"field", "architecture"}, {"type", "nominal"}, {"legend", {{"labelLimit", 400}}}};
}

// String accuracy from 0 to 1, read from `field`.
nlohmann::json accuracy_axis(const std::string& field) {
  return {{"field", field},
          {"type", "quantitative"},
          {"scale", {{"domain", {0, 1}}}},
          {"title", "string accuracy (mean over seeds)"}};
}

// 95% Wilson intervals over the seeds' pooled examples: a rule from each datum's low to high.
nlohmann::json interval_layer(const nlohmann::json& x, const nlohmann::json& color) {
  return {{"mark", {{"type", "rule"}, {"opacity", 0.6}}},
          {"encoding",
           {{"x", x},
            {"y", {{"field", "low"}, {"type", "quantitative"}, {"scale", {{"domain", {0, 1}}}}}},
            {"y2", {{"field", "high"}}},
            {"color", color}}}};
}

// A group's accuracy on one evaluation task at one length, with its interval, for a chart's data.
nlohmann::json accuracy_datum(const RunGroup& group, const LengthSummary& summary) {
  return {{"architecture", group.label},
          {"value", summary.mean_accuracy},
          {"char_accuracy", summary.mean_char_accuracy},
          {"low", summary.interval.low},
          {"high", summary.interval.high},
          {"seeds", summary.runs}};
}

nlohmann::json sample_efficiency_spec(const std::vector<RunGroup>& groups, int64_t length) {
  nlohmann::json values = nlohmann::json::array();
  for (const auto& group : groups)
    for (const auto& point : summarize_curve(group))
      // A log axis has no place for 0 examples.
      if (point.length == length && point.mean_examples_seen > 0)
        values.push_back({{"architecture", group.label},
                          {"examples_seen", point.mean_examples_seen},
                          {"string_accuracy", point.mean_accuracy},
                          {"step", point.mean_step},
                          {"seeds", point.runs}});
  const nlohmann::json tooltip =
      nlohmann::json::array({{{"field", "architecture"}},
                             {{"field", "step"}, {"format", ",.0f"}},
                             {{"field", "examples_seen"}, {"format", ",.0f"}},
                             {{"field", "string_accuracy"}, {"format", ".3f"}},
                             {{"field", "seeds"}}});
  return {{"$schema", kSchema},
          {"width", 520},
          {"height", 300},
          {"data", {{"values", values}}},
          {"mark", {{"type", "line"}, {"point", true}}},
          {"encoding",
           {{"x",
             {{"field", "examples_seen"},
              {"type", "quantitative"},
              {"scale", {{"type", "log"}}},
              {"title", "examples seen (mean over seeds)"}}},
            {"y", accuracy_axis("string_accuracy")},
            {"color", architecture_color()},
            {"order", {{"field", "step"}, {"type", "quantitative"}}},
            {"tooltip", tooltip}}}};
}

nlohmann::json length_generalization_spec(const std::vector<RunGroup>& groups,
                                          const std::string& eval_task,
                                          const std::set<int64_t>& lengths) {
  nlohmann::json values = nlohmann::json::array();
  std::set<int64_t> trained_up_to;
  for (const auto& group : groups) {
    for (const auto* run : group.runs) trained_up_to.insert(run->max_train_length);
    for (const auto& summary : summarize_lengths(group)) {
      if (summary.task != eval_task) continue;
      nlohmann::json datum = accuracy_datum(group, summary);
      datum["length"] = summary.length;
      datum["series"] = kAccuracySeries;
      values.push_back(std::move(datum));
      // The bound is drawn only where it binds: elsewhere it is 1 and says nothing.
      if (summary.bound && *summary.bound < 1)
        values.push_back({{"architecture", group.label},
                          {"length", summary.length},
                          {"value", *summary.bound},
                          {"state_bits", summary.state_bits},
                          {"memory_bits", *summary.memory_bits},
                          {"series", kBoundSeries}});
    }
  }
  nlohmann::json rules = nlohmann::json::array();
  for (int64_t length : trained_up_to) rules.push_back({{"max_train_length", length}});

  const nlohmann::json x = length_axis("length", lengths);
  const nlohmann::json y = accuracy_axis("value");
  const nlohmann::json color = architecture_color();
  const nlohmann::json data = {{"values", values}};
  const nlohmann::json accuracy_only = {
      {"filter", {{"field", "series"}, {"equal", kAccuracySeries}}}};
  nlohmann::json intervals = interval_layer(x, color);
  intervals["data"] = data;
  intervals["transform"] = nlohmann::json::array({accuracy_only});
  const nlohmann::json series_domain = nlohmann::json::array({kAccuracySeries, kBoundSeries});
  return {
      {"$schema", kSchema},
      {"width", 520},
      {"height", 300},
      {"layer",
       {// The longest training length: everything right of the rule is extrapolation.
        {{"data", {{"values", rules}}},
         {"mark", {{"type", "rule"}, {"color", "#888"}, {"strokeWidth", 2}}},
         {"encoding",
          {{"x", length_axis("max_train_length", lengths)},
           {"tooltip", {{{"field", "max_train_length"}, {"title", "longest training length"}}}}}}},
        {{"data", data},
         {"mark", {{"type", "line"}}},
         {"encoding",
          {{"x", x},
           {"y", y},
           {"color", color},
           {"strokeDash",
            {{"field", "series"},
             {"type", "nominal"},
             {"title", nullptr},
             {"scale",
              {{"domain", series_domain}, {"range", nlohmann::json::array({{1, 0}, {6, 4}})}}}}}}}},
        {{"data", data},
         {"mark", {{"type", "point"}, {"filled", true}}},
         {"encoding",
          {{"x", x},
           {"y", y},
           {"color", color},
           {"shape",
            {{"field", "series"},
             {"type", "nominal"},
             {"title", nullptr},
             {"scale",
              {{"domain", series_domain},
               {"range", nlohmann::json::array({"circle", "triangle-down"})}}}}},
           {"tooltip",
            {{{"field", "architecture"}},
             {{"field", "series"}},
             {{"field", "length"}},
             {{"field", "value"}, {"format", ".3g"}},
             {{"field", "low"}, {"format", ".3f"}, {"title", "Wilson low"}},
             {{"field", "high"}, {"format", ".3f"}, {"title", "Wilson high"}},
             {{"field", "char_accuracy"}, {"format", ".3f"}, {"title", "char accuracy"}},
             {{"field", "state_bits"}},
             {{"field", "memory_bits"}, {"format", ".1f"}}}}}}},
        intervals}}};
}

// One length, several evaluation tasks (copy and its duplicated n-gram variants, say): accuracy
// against the task, in the order the runs list the tasks, which is where the probe's trend shows.
nlohmann::json evaluation_tasks_spec(const std::vector<RunGroup>& groups,
                                     const std::vector<std::string>& eval_tasks, int64_t length) {
  nlohmann::json values = nlohmann::json::array();
  for (const auto& group : groups)
    for (const auto& summary : summarize_lengths(group))
      if (summary.length == length &&
          std::find(eval_tasks.begin(), eval_tasks.end(), summary.task) != eval_tasks.end()) {
        nlohmann::json datum = accuracy_datum(group, summary);
        datum["eval_task"] = summary.task;
        values.push_back(std::move(datum));
      }
  const nlohmann::json x = {{"field", "eval_task"},
                            {"type", "ordinal"},
                            {"sort", eval_tasks},
                            {"title", "evaluation task"}};
  const nlohmann::json y = accuracy_axis("value");
  const nlohmann::json color = architecture_color();
  return {{"$schema", kSchema},
          {"width", 520},
          {"height", 300},
          {"data", {{"values", values}}},
          {"layer",
           {{{"mark", {{"type", "line"}, {"point", {{"filled", true}}}}},
             {"encoding",
              {{"x", x},
               {"y", y},
               {"color", color},
               {"tooltip",
                {{{"field", "architecture"}},
                 {{"field", "eval_task"}, {"title", "evaluation task"}},
                 {{"field", "value"}, {"format", ".3g"}},
                 {{"field", "low"}, {"format", ".3f"}, {"title", "Wilson low"}},
                 {{"field", "high"}, {"format", ".3f"}, {"title", "Wilson high"}},
                 {{"field", "char_accuracy"}, {"format", ".3f"}, {"title", "char accuracy"}},
                 {{"field", "seeds"}}}}}}},
            interval_layer(x, color)}}};
}

const char* const kStyle = R"(
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
.pass { color: #1a7f37; font-weight: 600; } .fail { color: #cf222e; font-weight: 600; }
.chart { margin: 0.5em 0 2em; } .chart-error { color: #cf222e; white-space: pre-wrap; }
)";

// Embeds every chart, then writes on each chart's element how many data items each kind of mark
// drew (data-line, data-symbol, data-rule): proof that data reached the plot, not just axes.
// The status element sums it up; errors show on the page and in data-error.
const char* const kRenderScript = R"(
(function () {
  var charts = JSON.parse(document.getElementById('parrot-charts').textContent);
  var status = document.getElementById('parrot-render-status');
  function count(mark, counts) {
    if (mark.role === 'mark' && mark.marktype !== 'group')
      counts[mark.marktype] = (counts[mark.marktype] || 0) + mark.items.length;
    (mark.items || []).forEach(function (item) {
      (item.items || []).forEach(function (child) { count(child, counts); });
    });
    return counts;
  }
  var rendered = 0;
  Promise.all(charts.map(function (chart) {
    var element = document.getElementById(chart.id);
    return vegaEmbed(element, chart.spec, {renderer: 'svg', actions: false}).then(function (result) {
      var counts = count(result.view.scenegraph().root, {});
      ['line', 'symbol', 'rule'].forEach(function (type) {
        element.setAttribute('data-' + type, String(counts[type] || 0));
      });
      rendered += 1;
    }).catch(function (error) {
      element.setAttribute('data-error', String(error));
      var message = document.createElement('p');
      message.className = 'chart-error';
      message.textContent = 'This chart failed to render: ' + error;
      element.appendChild(message);
    });
  })).then(function () {
    status.setAttribute('data-rendered', String(rendered));
    status.textContent = rendered + ' of ' + charts.length + ' charts rendered';
  });
})();
)";

}  // namespace

std::filesystem::path chart_libraries_folder() { return PARROT_REPORT_ASSETS_DIR; }

ChartLibraries load_chart_libraries(const std::filesystem::path& folder) {
  return {read_library(folder / "vega.min.js"), read_library(folder / "vega-lite.min.js"),
          read_library(folder / "vega-embed.min.js")};
}

std::vector<Chart> report_charts(const ResultsFolder& results) {
  const auto groups = group_runs(results.runs);
  std::vector<std::string> tasks;
  for (const auto& group : groups)
    if (std::find(tasks.begin(), tasks.end(), group.task) == tasks.end())
      tasks.push_back(group.task);

  std::vector<Chart> charts;
  const auto add = [&](const std::string& title, nlohmann::json spec) {
    charts.push_back({"chart-" + std::to_string(charts.size()), title, std::move(spec)});
  };
  for (const auto& task : tasks) {
    std::vector<RunGroup> trained_on_task;
    std::set<int64_t> curve_lengths;
    for (const auto& group : groups) {
      if (group.task != task) continue;
      trained_on_task.push_back(group);
      for (const auto* run : group.runs)
        for (const auto& point : run->curve) curve_lengths.insert(point.length);
    }
    for (int64_t length : curve_lengths)
      add(task + ": sample efficiency at length " + std::to_string(length),
          sample_efficiency_spec(trained_on_task, length));
    const EvaluationLayout layout = evaluation_layout(trained_on_task);
    for (const auto& [eval_task, lengths] : layout.over_lengths)
      add(task + ": length generalization on " + eval_task,
          length_generalization_spec(trained_on_task, eval_task, lengths));
    for (const auto& [length, eval_tasks] : layout.over_tasks)
      add(task + ": accuracy by evaluation task at length " + std::to_string(length),
          evaluation_tasks_spec(trained_on_task, eval_tasks, length));
  }
  return charts;
}

std::string html_report(const ResultsFolder& results, const std::vector<Verdict>& verdicts,
                        const ChartLibraries& libraries) {
  const auto charts = report_charts(results);
  const size_t failed =
      std::count_if(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return !v.passed; });
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<title>parrot report: " << xml_escape(results.suite) << "</title>\n"
      << "<style>" << kStyle << "</style>\n"
      << "<script>" << script_safe(libraries.vega) << "</script>\n"
      << "<script>" << script_safe(libraries.vega_lite) << "</script>\n"
      << "<script>" << script_safe(libraries.vega_embed) << "</script>\n"
      << "</head>\n<body>\n"
      << "<h1>parrot report: " << xml_escape(results.suite) << "</h1>\n<p>" << results.runs.size()
      << " runs finished";
  if (!results.not_run.empty()) out << ", " << results.not_run.size() << " not run";
  out << ". Expectations: " << verdicts.size() - failed << " passed, " << failed << " failed.";
  if (!results.suite_file.empty()) out << " Suite file: " << xml_escape(results.suite_file) << ".";
  out << " Lines are means over seeds; error bars are 95% Wilson intervals over the "
         "pooled examples of all seeds; the grey rule marks the longest training length; dashed "
         "lines are the memory bound where a model's state is smaller than what the task needs."
      << "</p>\n<p id=\"parrot-render-status\" data-charts=\"" << charts.size() << "\">rendering "
      << charts.size() << " charts...</p>\n";

  if (!verdicts.empty()) {
    out << "<h2>Expectations</h2>\n<table>\n<tr><th>result</th><th>expectation</th>"
        << "<th>measured</th><th>where</th></tr>\n";
    for (const auto& verdict : verdicts)
      out << "<tr><td class=\"" << (verdict.passed ? "pass\">pass" : "fail\">fail") << "</td><td>"
          << xml_escape(verdict.expectation) << "</td><td>" << xml_escape(verdict.description)
          << "</td><td>" << xml_escape(verdict.where) << "</td></tr>\n";
    out << "</table>\n";
  }
  if (!results.not_run.empty()) {
    out << "<h2>Not run</h2>\n<ul>\n";
    for (const auto& run : results.not_run)
      out << "<li>" << xml_escape(run.name) << " (" << xml_escape(run.run_id) << ")</li>\n";
    out << "</ul>\n";
  }
  nlohmann::json specs = nlohmann::json::array();
  for (const auto& chart : charts) {
    out << "<h2>" << xml_escape(chart.title) << "</h2>\n<div class=\"chart\" id=\"" << chart.id
        << "\"></div>\n";
    specs.push_back({{"id", chart.id}, {"title", chart.title}, {"spec", chart.spec}});
  }
  out << "<script type=\"application/json\" id=\"parrot-charts\">" << json_in_script(specs)
      << "</script>\n<script>" << kRenderScript << "</script>\n</body>\n</html>\n";
  return out.str();
}

}  // namespace parrot
