// The suite file as the loader reads it: the parsed TOML with two layers on top, `--set`
// overrides and the values of the sweep point being resolved. Every read goes through here, so a
// value keeps its own location whichever layer it came from.
#pragma once

#include "toml_params.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace parrot {

// Nodes by dotted path ("train.learning_rate", "architectures.tiny.layers").
using NodesByPath = std::map<std::string, const toml::node*>;

std::string join_path(const std::vector<std::string>& segments);
std::vector<std::string> split_path(const std::string& path);

class SuiteDocument {
 public:
  // Parses `file`; throws InputError with file:line:column for malformed TOML.
  explicit SuiteDocument(const std::filesystem::path& file);

  // `assignment` is `key.path=value`, value in TOML syntax (a bare word is read as a string).
  // Throws InputError when the path or the value is malformed.
  void add_override(const std::string& assignment);

  // The sweep point whose values replace the arrays they were picked from; {} for none.
  void set_point(NodesByPath point) { point_ = std::move(point); }

  // The value at `path` as the current point sees it: the point's, else an override, else the
  // file's (looked up through the layers one segment at a time); nullptr when absent.
  const toml::node* at(const std::string& path) const;

  // The entries of the table at `path`, layers applied; {} when there is no such table. Throws
  // InputError when the value there is not a table.
  TomlEntries entries(const std::string& path) const;

  const std::filesystem::path& file() const { return file_; }
  const toml::table& root() const { return root_; }

 private:
  std::filesystem::path file_;
  toml::table root_;
  // Each override is a parsed one-line document of its own, which holds its value's location.
  std::vector<std::unique_ptr<toml::table>> override_documents_;
  NodesByPath overrides_;
  NodesByPath point_;
};

}  // namespace parrot
