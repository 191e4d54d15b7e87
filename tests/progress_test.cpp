// Progress lines: what a person watching a long run reads.

#include "progress.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace parrot {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

Progress at(int64_t step, double elapsed_seconds) {
  return {step, 10000, step * 30, 0.5, std::nullopt, elapsed_seconds};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A run resumed at step 8000 runs 0.1 s a step: the estimate must come from that rate, not from
// 9000 steps over the 101 s this process has run.
TEST(ProgressPrinter, TheEtaCountsFromTheRunsFirstLineInThisProcess) {
  std::ostringstream out;
  ProgressPrinter printer(out, false);
  printer.start(1, 1, "mamba/copy/seed2");
  printer.update(at(8000, 1.0));
  printer.update(at(9000, 101.0));
  printer.update(at(10000, 201.0));
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 4u) << out.str();
  EXPECT_EQ(lines[0], "[1/1] mamba/copy/seed2: started");
  EXPECT_THAT(lines[1], HasSubstr("step 8000/10000"));
  EXPECT_THAT(lines[1], EndsWith("ETA -"));  // no rate yet: start-up is not a step
  EXPECT_THAT(lines[2], EndsWith("ETA 1m40s"));
  EXPECT_THAT(lines[3], EndsWith("ETA 0s"));
}

TEST(ProgressPrinter, EachRunStartsItsOwnEstimate) {
  std::ostringstream out;
  ProgressPrinter printer(out, false);
  printer.start(1, 2, "a");
  printer.update(at(1, 50.0));
  printer.update(at(5000, 100.0));
  printer.start(2, 2, "b");
  printer.update(at(1, 200.0));
  printer.update(at(1001, 201.0));
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 6u) << out.str();
  EXPECT_THAT(lines[4], EndsWith("ETA -"));
  EXPECT_THAT(lines[5], EndsWith("ETA 9s"));  // 1 ms a step, 8999 steps left
}

}  // namespace
}  // namespace parrot
