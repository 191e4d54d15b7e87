// junit.xml: the folder as a JUnit test report, so that CI shows each run and each expectation
// as a test case: a run fails when its record file is missing, an expectation when it fails.
#pragma once

#include "expectations.hpp"
#include "report_folder.hpp"

#include <string>
#include <vector>

namespace parrot {

std::string junit_report(const ResultsFolder& results, const std::vector<Verdict>& verdicts);

}  // namespace parrot
