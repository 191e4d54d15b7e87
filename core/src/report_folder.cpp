// Reading a results folder: suite.json first (it says which runs belong), then the records.

#include "report_folder.hpp"

#include <parrot/error.hpp>

#include <algorithm>
#include <fstream>
#include <map>

namespace parrot {
namespace {

std::string text_in(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_string())
    throw InputError(where + ": needs \"" + key + "\" (a string); docs/results.md describes it");
  return found->get<std::string>();
}

void read_suite_json(const std::filesystem::path& file, ResultsFolder& results) {
  std::ifstream in(file);
  nlohmann::json suite;
  try {
    suite = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& error) {
    throw InputError(file.string() + ": not JSON: " + error.what());
  }
  const std::string where = file.string();
  if (!suite.is_object()) throw InputError(where + ": must be a JSON object");
  results.has_suite_json = true;
  results.suite = text_in(suite, "suite", where);
  results.suite_file = text_in(suite, "file", where);
  const auto expectations = suite.find("expectations");
  if (expectations == suite.end())
    throw InputError(where + ": needs \"expectations\" (an array, [] for none)");
  results.expectations = expectations_from_json(*expectations, where);
  const auto runs = suite.find("runs");
  if (runs == suite.end() || !runs->is_array())
    throw InputError(where + ": needs \"runs\", an array of {\"run_id\", \"name\"}");
  for (size_t i = 0; i < runs->size(); ++i) {
    const auto& run = (*runs)[i];
    const std::string at = where + ": runs[" + std::to_string(i) + "]";
    if (!run.is_object()) throw InputError(at + ": must be an object");
    results.not_run.push_back({text_in(run, "run_id", at), text_in(run, "name", at)});
  }
}

bool is_record_file(const std::filesystem::directory_entry& entry) {
  // Writers name temp files <run-id>.jsonl.tmp.<pid>: their extension is not ".jsonl".
  return entry.is_regular_file() && entry.path().extension() == ".jsonl";
}

}  // namespace

std::vector<std::string> ResultsFolder::not_run_names() const {
  std::vector<std::string> names;
  for (const auto& run : not_run) names.push_back(run.name);
  return names;
}

ResultsFolder load_results(const std::filesystem::path& folder) {
  if (!std::filesystem::is_directory(folder))
    throw InputError(folder.string() +
                     ": no such results folder (suite run writes results/<suite>/)");
  ResultsFolder results;
  results.folder = folder;
  results.suite = folder.filename().string();
  if (results.suite.empty()) results.suite = folder.parent_path().filename().string();
  const auto suite_json = folder / "suite.json";
  if (std::filesystem::is_regular_file(suite_json)) read_suite_json(suite_json, results);

  std::map<std::string, std::filesystem::path> files;  // run id -> file, sorted
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (is_record_file(entry)) files[entry.path().stem().string()] = entry.path();

  if (results.has_suite_json) {
    std::vector<ListedRun> listed;
    listed.swap(results.not_run);
    for (const auto& run : listed) {
      const auto file = files.find(run.run_id);
      if (file == files.end()) {
        results.not_run.push_back(run);
        continue;
      }
      results.runs.push_back(read_run_records(file->second));
      files.erase(file);
    }
    for (const auto& [id, file] : files) results.unlisted.push_back(file);
  } else {
    for (const auto& [id, file] : files) results.runs.push_back(read_run_records(file));
    std::stable_sort(results.runs.begin(), results.runs.end(),
                     [](const RunRecords& a, const RunRecords& b) { return a.name < b.name; });
  }
  return results;
}

}  // namespace parrot
