// The progress of a run as people see it: a live line redrawn in place on a terminal, plain log
// lines (start, every tenth of the steps, end) when output goes to a file or CI log.
#pragma once

#include "trainer.hpp"

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

namespace parrot {

class ProgressPrinter {
 public:
  ProgressPrinter(std::ostream& out, bool live) : out_(out), live_(live) {}

  void start(size_t index, size_t total, const std::string& name);
  void update(const Progress& progress);
  void finish(const std::string& outcome);  // ends the run's line with a verdict

 private:
  std::string line(const Progress& progress) const;
  std::string eta(const Progress& progress) const;

  std::ostream& out_;
  bool live_;
  std::string prefix_;
  std::chrono::steady_clock::time_point last_draw_;
  int64_t last_logged_tenth_ = -1;
  // The run's first report in this process: the ETA counts from there, so that neither the
  // start-up (model, graph capture) nor a resumed run's earlier steps skew the rate.
  std::optional<Progress> first_;
};

}  // namespace parrot
