// A results folder: one JSON-lines file of records per finished run, written all at once (it
// exists only complete, so its presence means "run finished"), and beside it each unfinished
// run's checkpoint and lock file, and suite.json.
#pragma once

#include "trainer.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace parrot {

// The thresholds of the "examples to reach" summaries.
inline const std::vector<double> kAccuracyThresholds = {0.5, 0.9, 0.99};

// The lines of a run's file: first {"record":"run", ...} with the config, cost and summaries,
// then one {"record":"curve"} per curve point and length, one {"record":"length"} per length.
std::vector<nlohmann::json> run_records(const Run& run, const RunResult& result,
                                        const std::string& device);

// suite.json: the suite's name and file, its expanded runs and its expectations.
nlohmann::json suite_manifest(const Suite& suite, const nlohmann::json& expectations);

class ResultStore {
 public:
  // Creates the folder; removes temp files left by writers that died.
  explicit ResultStore(std::filesystem::path folder);

  const std::filesystem::path& folder() const { return folder_; }
  std::filesystem::path file_of(const std::string& run_id) const;
  std::filesystem::path checkpoint_of(const std::string& run_id) const;
  std::filesystem::path lock_of(const std::string& run_id) const;
  bool finished(const std::string& run_id) const;
  void write(const std::string& run_id, const std::vector<nlohmann::json>& records) const;
  void write_manifest(const nlohmann::json& manifest) const;

 private:
  std::filesystem::path folder_;
};

}  // namespace parrot
