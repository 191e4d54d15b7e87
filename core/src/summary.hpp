// The table `suite run` prints at the end: one row per run, from the records on disk, so runs
// finished by an earlier invocation show up the same as fresh ones.
#pragma once

#include "results.hpp"
#include "suite.hpp"

#include <string>

namespace parrot {

std::string summary_table(const Suite& suite, const ResultStore& store);

}  // namespace parrot
