// Records: building them from a run's result, and crash-safe files.

#include "results.hpp"

#include "atomic_file.hpp"

#include <torch/version.h>
#include <sstream>

namespace parrot {
namespace {

nlohmann::json accuracy_json(const Accuracy& accuracy) {
  return {{"examples", accuracy.examples},
          {"strings_correct", accuracy.strings_correct},
          {"string_accuracy", accuracy.string_accuracy()},
          {"char_accuracy", accuracy.char_accuracy()}};
}

// Examples seen when every curve length first reached `threshold`; null if it never did.
nlohmann::json examples_to_reach(const std::vector<CurvePoint>& curve, double threshold) {
  for (const auto& point : curve) {
    bool reached = !point.accuracy.empty();
    for (const auto& at : point.accuracy) reached &= at.accuracy.string_accuracy() >= threshold;
    if (reached) return point.examples_seen;
  }
  return nullptr;
}

}  // namespace

std::vector<nlohmann::json> run_records(const Run& run, const RunResult& result,
                                        const std::string& device) {
  nlohmann::json examples_to = nlohmann::json::object();
  for (double threshold : kAccuracyThresholds) {
    std::ostringstream key;
    key << threshold;
    examples_to[key.str()] = examples_to_reach(result.curve, threshold);
  }
  nlohmann::json state_bits = nlohmann::json::object();
  for (const auto& at : result.lengths) state_bits[std::to_string(at.length)] = at.state_bits;
  nlohmann::json eval_tasks = nlohmann::json::array();
  for (const auto& choice : run.eval_tasks) eval_tasks.push_back(choice.name);

  std::vector<nlohmann::json> records;
  records.push_back({{"record", "run"},
                     {"run_id", run.id},
                     {"name", run.name},
                     {"architecture", run.architecture.name},
                     {"task", run.task.name},
                     {"eval_tasks", eval_tasks},
                     {"seed", run.seed},
                     {"sweep", run.sweep},
                     {"max_train_length", run.train.max_length},
                     {"config", run.config},
                     {"parameters", result.parameters},
                     {"state_bits", state_bits},
                     {"steps", result.steps},
                     {"examples_seen", result.examples_seen},
                     {"stopped_early", result.stopped_early},
                     {"examples_to", examples_to},
                     {"train_seconds", result.train_seconds},
                     {"wall_seconds", result.wall_seconds},
                     {"tokens_per_second", result.tokens_per_second},
                     {"device", device},
                     {"torch_version", TORCH_VERSION}});
  for (const auto& point : result.curve)
    for (const auto& at : point.accuracy) {
      nlohmann::json record = {
          {"record", "curve"},  {"step", point.step},    {"examples_seen", point.examples_seen},
          {"loss", point.loss}, {"task", run.task.name}, {"length", at.length}};
      record.update(accuracy_json(at.accuracy));
      records.push_back(std::move(record));
    }
  for (const auto& at : result.lengths) {
    nlohmann::json record = {{"record", "length"},
                             {"task", at.task},
                             {"length", at.length},
                             {"state_bits", at.state_bits},
                             {"memory_bits", at.memory_bits ? nlohmann::json(*at.memory_bits)
                                                            : nlohmann::json(nullptr)}};
    record.update(accuracy_json(at.accuracy));
    records.push_back(std::move(record));
  }
  return records;
}

nlohmann::json suite_manifest(const Suite& suite, const nlohmann::json& expectations) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& run : suite.runs) runs.push_back({{"run_id", run.id}, {"name", run.name}});
  return {{"suite", suite.name},
          {"file", suite.file.string()},
          {"expectations", expectations},
          {"runs", runs}};
}

ResultStore::ResultStore(std::filesystem::path folder) : folder_(std::move(folder)) {
  std::filesystem::create_directories(folder_);
  remove_dead_temp_files(folder_);
}

std::filesystem::path ResultStore::file_of(const std::string& run_id) const {
  return folder_ / (run_id + ".jsonl");
}

std::filesystem::path ResultStore::checkpoint_of(const std::string& run_id) const {
  return folder_ / (run_id + ".ckpt");
}

std::filesystem::path ResultStore::lock_of(const std::string& run_id) const {
  return folder_ / (run_id + ".lock");
}

bool ResultStore::finished(const std::string& run_id) const {
  return std::filesystem::is_regular_file(file_of(run_id));
}

void ResultStore::write(const std::string& run_id,
                        const std::vector<nlohmann::json>& records) const {
  std::string text;
  for (const auto& record : records) text += record.dump() + "\n";
  write_file_atomically(file_of(run_id), text);
}

void ResultStore::write_manifest(const nlohmann::json& manifest) const {
  write_file_atomically(folder_ / "suite.json", manifest.dump(2) + "\n");
}

}  // namespace parrot
