// report.html: one self-contained page with Vega-Lite charts per task (sample efficiency,
// length generalization with the memory bound), vega, vega-lite and vega-embed inlined so that
// it opens offline. The page marks each chart with the marks it drew, which the render test reads.
#pragma once

#include "expectations.hpp"
#include "report_folder.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace parrot {

// The minified libraries, as pinned by web/report/package-lock.json.
struct ChartLibraries {
  std::string vega, vega_lite, vega_embed;
};

// Where the build put them: <build>/report-assets (npm ci, see core/CMakeLists.txt).
std::filesystem::path chart_libraries_folder();

// Reads vega.min.js, vega-lite.min.js and vega-embed.min.js from `folder`; throws
// std::runtime_error saying how to get them when one is missing.
ChartLibraries load_chart_libraries(const std::filesystem::path& folder = chart_libraries_folder());

struct Chart {
  std::string id;       // the element it is drawn into: "chart-0", ...
  std::string title;    // "copy: sample efficiency at length 8"
  nlohmann::json spec;  // Vega-Lite
};

// Per training task: a sample-efficiency chart per curve length, then a length-generalization
// chart per evaluation task.
std::vector<Chart> report_charts(const ResultsFolder& results);

std::string html_report(const ResultsFolder& results, const std::vector<Verdict>& verdicts,
                        const ChartLibraries& libraries);

}  // namespace parrot
