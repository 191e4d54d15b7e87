// The table `suite run` prints at the end: one row per run, from the records on disk, so runs
// finished by an earlier invocation show up the same as fresh ones.
#pragma once

#include "results.hpp"
#include "suite.hpp"

#include <string>

namespace parrot {

// The rows are `runs` (a selection of the suite's); columns are each evaluation task and length.
std::string summary_table(const std::string& suite_name, const std::vector<Run>& runs,
                          const ResultStore& store);

}  // namespace parrot
