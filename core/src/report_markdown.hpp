// report.md: the results of a folder as GitHub-flavoured Markdown tables, grouped by
// architecture and training task and averaged over seeds, then the expectation verdicts.
// Short enough to paste into a CI job summary ($GITHUB_STEP_SUMMARY).
#pragma once

#include "expectations.hpp"
#include "report_folder.hpp"

#include <string>
#include <vector>

namespace parrot {

std::string markdown_report(const ResultsFolder& results, const std::vector<Verdict>& verdicts);

// A table cell: pipes escaped, line breaks flattened.
std::string markdown_cell(const std::string& text);

}  // namespace parrot
