// Helpers shared by the tests: parameters from a schema, temporary suite files.
// Kept tiny on purpose: a test should read on its own.
#pragma once

#include "report_html.hpp"

#include <parrot/params.hpp>
#include <parrot/task.hpp>

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace parrot::test {

// Schema defaults with some keys overridden, as if a suite had set them.
inline Params params_with(const Schema& schema, const std::map<std::string, Value>& overrides = {},
                          const std::string& owner = "test") {
  std::map<std::string, Value> values;
  for (const auto& spec : schema) values[spec.name] = spec.default_value;
  for (const auto& [key, value] : overrides) {
    EXPECT_TRUE(values.count(key)) << "not in the schema: " << key;
    values[key] = value;
  }
  return Params(owner, schema, values, {});
}

// Tokens as the text their names spell, e.g. "$ab|ab.".
inline std::string spell(const std::vector<int64_t>& tokens, const Vocabulary& vocabulary) {
  std::string text;
  for (int64_t token : tokens) text += vocabulary.names.at(token);
  return text;
}

// The example with every token that is not a target shown as "_".
inline std::string spell_targets(const Example& example, const Vocabulary& vocabulary) {
  std::string text;
  for (size_t i = 0; i < example.tokens.size(); ++i)
    text += example.target[i] ? vocabulary.names.at(example.tokens[i]) : "_";
  return text;
}

// Why `suite report` cannot write report.html in this build, or "" when it can: a build
// configured without PARROT_REPORT_ASSETS (scripts/build-gpu.sh where npm is missing) has no chart
// libraries. The tests that need report.html skip there with this reason.
inline std::string report_html_unavailable() {
  try {
    load_chart_libraries();
    return "";
  } catch (const std::runtime_error& error) {
    return error.what();
  }
}

// A fresh folder per test, removed at the end.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("parrot-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
             std::to_string(::getpid()));
    remove_tree();
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { remove_tree(); }
  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream(file) << text;
    return file;
  }

 private:
  // Not std::filesystem::remove_all: PyTorch's wheels export an older copy of it from
  // libtorch.so, which wins symbol lookup in test binaries and crashed on non-empty folders.
  void remove_tree() const { remove_tree(path_.string()); }
  static void remove_tree(const std::string& path) {
    struct stat info;
    if (lstat(path.c_str(), &info) != 0) return;
    if (S_ISDIR(info.st_mode))
      if (DIR* folder = opendir(path.c_str())) {
        while (const dirent* entry = readdir(folder)) {
          const std::string name = entry->d_name;
          if (name != "." && name != "..") remove_tree(path + "/" + name);
        }
        closedir(folder);
      }
    std::remove(path.c_str());
  }

  std::filesystem::path path_;
};

}  // namespace parrot::test
