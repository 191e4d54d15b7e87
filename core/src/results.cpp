// Records: building them from a run's result, and crash-safe files.

#include "results.hpp"

#include <parrot/error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <torch/version.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace parrot {
namespace {

nlohmann::json accuracy_json(const Accuracy& accuracy) {
  return {{"examples", accuracy.examples},
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

void write_all(int fd, const std::string& text, const std::filesystem::path& file) {
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "writing " + file.string());
    written += static_cast<size_t>(n);
  }
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
  for (size_t i = 0; i < run.eval.lengths.size(); ++i)
    state_bits[std::to_string(run.eval.lengths[i])] = result.state_bits[i];

  std::vector<nlohmann::json> records;
  records.push_back({{"record", "run"},
                     {"run_id", run.id},
                     {"name", run.name},
                     {"architecture", run.architecture.name},
                     {"task", run.task.name},
                     {"seed", run.seed},
                     {"config", run.config},
                     {"parameters", result.parameters},
                     {"state_bits", state_bits},
                     {"examples_seen", result.examples_seen},
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
  for (size_t i = 0; i < result.lengths.size(); ++i) {
    nlohmann::json record = {{"record", "length"},
                             {"task", run.task.name},
                             {"length", result.lengths[i].length},
                             {"state_bits", result.state_bits[i]}};
    record.update(accuracy_json(result.lengths[i].accuracy));
    records.push_back(std::move(record));
  }
  return records;
}

ResultStore::ResultStore(std::filesystem::path folder) : folder_(std::move(folder)) {
  std::filesystem::create_directories(folder_);
  // Temp files are named <run-id>.jsonl.tmp.<pid>; one whose writer is gone is debris.
  for (const auto& entry : std::filesystem::directory_iterator(folder_)) {
    const std::string name = entry.path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos) continue;
    const pid_t writer = static_cast<pid_t>(std::atol(name.c_str() + at + 5));
    if (writer > 0 && ::kill(writer, 0) != 0 && errno == ESRCH)
      std::filesystem::remove(entry.path());
  }
}

std::filesystem::path ResultStore::file_of(const std::string& run_id) const {
  return folder_ / (run_id + ".jsonl");
}

bool ResultStore::finished(const std::string& run_id) const {
  return std::filesystem::is_regular_file(file_of(run_id));
}

void ResultStore::write(const std::string& run_id,
                        const std::vector<nlohmann::json>& records) const {
  std::string text;
  for (const auto& record : records) text += record.dump() + "\n";
  const auto file = file_of(run_id);
  const auto temp = folder_ / (file.filename().string() + ".tmp." + std::to_string(::getpid()));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "creating " + temp.string());
  try {
    write_all(fd, text, temp);
    if (::fsync(fd) != 0) throw std::system_error(errno, std::generic_category(), "fsync");
  } catch (...) {
    ::close(fd);
    std::filesystem::remove(temp);
    throw;
  }
  ::close(fd);
  std::filesystem::rename(temp, file);  // atomic: readers see the old state or the whole file
  const int dir = ::open(folder_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // make the rename itself durable
    ::close(dir);
  }
}

std::vector<nlohmann::json> ResultStore::read(const std::string& run_id) const {
  std::ifstream in(file_of(run_id));
  std::vector<nlohmann::json> records;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    try {
      records.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& error) {
      throw InputError(file_of(run_id).string() + ":" + std::to_string(number) +
                       ": not a result record: " + error.what());
    }
  }
  return records;
}

}  // namespace parrot
