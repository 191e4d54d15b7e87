// runs.csv and curves.csv: every number of every run, one row per measurement, for
// spreadsheets and pandas. Columns are listed in docs/report.md.
#pragma once

#include "report_records.hpp"

#include <string>
#include <vector>

namespace parrot {

// One row per run x evaluation task x length.
std::string runs_csv(const std::vector<RunRecords>& runs);

// One row per run x curve point x curve length.
std::string curves_csv(const std::vector<RunRecords>& runs);

// A CSV field as RFC 4180 has it: quoted (with quotes doubled) when it holds a comma, a quote
// or a line break.
std::string csv_field(const std::string& text);

}  // namespace parrot
