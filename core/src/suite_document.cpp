// Layered lookups over the suite's TOML.

#include "suite_document.hpp"

#include <parrot/error.hpp>

#include <algorithm>

namespace parrot {

std::string join_path(const std::vector<std::string>& segments) {
  std::string path;
  for (const auto& segment : segments) path += (path.empty() ? "" : ".") + segment;
  return path;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    segments.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) return segments;
    start = dot + 1;
  }
}

SuiteDocument::SuiteDocument(const std::filesystem::path& file) : file_(file) {
  if (!std::filesystem::is_regular_file(file))
    throw InputError("suite file not found: " + file.string());
  try {
    root_ = toml::parse_file(file.string());
  } catch (const toml::parse_error& error) {
    throw InputError(location_of(error.source()).str() +
                     ": malformed TOML: " + std::string(error.description()));
  }
}

void SuiteDocument::add_override(const std::string& assignment) {
  const std::string where = "--set " + assignment;
  const size_t equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0)
    throw InputError(where + ": expected key.path=value");
  const std::string path = assignment.substr(0, equals);
  const std::string text = assignment.substr(equals + 1);
  for (const auto& segment : split_path(path))
    if (segment.empty()) throw InputError(where + ": '" + path + "' has an empty segment");

  auto parse = [&](const std::string& value) {
    return std::make_unique<toml::table>(toml::parse("value = " + value, where));
  };
  std::unique_ptr<toml::table> document;
  try {
    document = parse(text);
  } catch (const toml::parse_error&) {
    // Not TOML: a bare word such as `rope` means the string, as a shell user would expect.
    std::string quoted = "\"";
    for (char c : text)
      quoted += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    try {
      document = parse(quoted + "\"");
    } catch (const toml::parse_error& error) {
      throw InputError(where + ": cannot read the value: " + std::string(error.description()));
    }
  }
  overrides_[path] = document->get("value");
  override_documents_.push_back(std::move(document));
}

const toml::node* SuiteDocument::at(const std::string& path) const {
  if (auto found = point_.find(path); found != point_.end()) return found->second;
  if (auto found = overrides_.find(path); found != overrides_.end()) return found->second;
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos) return root_.get(path);
  const toml::node* parent = at(path.substr(0, dot));
  if (!parent || !parent->is_table()) return nullptr;
  return parent->as_table()->get(path.substr(dot + 1));
}

TomlEntries SuiteDocument::entries(const std::string& path) const {
  TomlEntries entries;
  if (const toml::node* node = at(path)) {
    if (!node->is_table())
      throw InputError(location_of(*node).str() + ": " + path + " must be a table");
    entries = entries_of(*node->as_table());
  }
  // Layer values replace the file's, and may add keys the file does not have.
  for (const NodesByPath* layer : {&overrides_, &point_})
    for (const auto& [key_path, node] : *layer) {
      if (key_path.size() <= path.size() + 1 || key_path.compare(0, path.size(), path) != 0 ||
          key_path[path.size()] != '.')
        continue;
      const std::string key = key_path.substr(path.size() + 1);
      if (key.find('.') != std::string::npos) continue;  // deeper: read with its own table
      const TomlEntry entry{key, at(key_path), location_of(*node)};
      auto same = std::find_if(entries.begin(), entries.end(),
                               [&](const TomlEntry& e) { return e.key == key; });
      if (same != entries.end())
        *same = entry;
      else
        entries.push_back(entry);
    }
  return entries;
}

}  // namespace parrot
