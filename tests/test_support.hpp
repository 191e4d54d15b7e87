// Helpers shared by the tests: parameters from a schema, temporary suite files.
// Kept tiny on purpose: a test should read on its own.
#pragma once

#include <parrot/params.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

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

// A fresh folder per test, removed at the end.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("parrot-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream(file) << text;
    return file;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace parrot::test
