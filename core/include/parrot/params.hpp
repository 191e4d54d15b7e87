// Component parameters: the schema a plugin declares, and the typed view its factory reads.
// The core fills a Params from a suite's TOML table, so a factory never sees TOML itself.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace parrot {

enum class ParamType { kBool, kInt, kFloat, kString, kIntList };
using Value = std::variant<bool, int64_t, double, std::string, std::vector<int64_t>>;

const char* to_string(ParamType type);
std::string to_string(const Value& value);  // as it would be written in TOML

struct ParamSpec {
  std::string name;
  ParamType type;
  Value default_value;
  std::string doc;                   // one line
  std::vector<std::string> choices;  // for strings: the accepted values; empty = any
};
using Schema = std::vector<ParamSpec>;

inline ParamSpec int_param(std::string name, int64_t default_value, std::string doc) {
  return {std::move(name), ParamType::kInt, default_value, std::move(doc), {}};
}
inline ParamSpec float_param(std::string name, double default_value, std::string doc) {
  return {std::move(name), ParamType::kFloat, default_value, std::move(doc), {}};
}
inline ParamSpec bool_param(std::string name, bool default_value, std::string doc) {
  return {std::move(name), ParamType::kBool, default_value, std::move(doc), {}};
}
inline ParamSpec string_param(std::string name, std::string default_value, std::string doc,
                              std::vector<std::string> choices = {}) {
  return {std::move(name), ParamType::kString, std::move(default_value), std::move(doc),
          std::move(choices)};
}
inline ParamSpec int_list_param(std::string name, std::vector<int64_t> default_value,
                                std::string doc) {
  return {std::move(name), ParamType::kIntList, std::move(default_value), std::move(doc), {}};
}

// Where a value came from, for error messages: "suite.toml:12:9". Empty file = a default.
struct SourceLocation {
  std::string file;
  int64_t line = 0;
  int64_t column = 0;
  std::string str() const;
};

// Every schema key resolved to a value of its declared type (given, or the default).
// Reads are recorded so that a conformance test can catch a factory that ignores a parameter.
class Params {
 public:
  Params(std::string owner, Schema schema, std::map<std::string, Value> values,
         std::map<std::string, SourceLocation> locations);

  bool boolean(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  double real(const std::string& key) const;
  const std::string& string(const std::string& key) const;
  const std::vector<int64_t>& int_list(const std::string& key) const;
  // An int that must be >= minimum; fails at the key's location otherwise.
  int64_t integer_at_least(const std::string& key, int64_t minimum) const;

  // Throws InputError naming the key's location and owner, e.g.
  // "suite.toml:7:1: architecture 'tiny' (transformer): heads: must divide d_model (64)".
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

  // Where the key's value was written; empty (prints "(default)") for a default.
  SourceLocation location(const std::string& key) const;

  const Schema& schema() const { return schema_; }
  const std::map<std::string, Value>& values() const { return values_; }
  std::vector<std::string> unread() const;

 private:
  const Value& read(const std::string& key, ParamType type) const;

  std::string owner_;
  Schema schema_;
  std::map<std::string, Value> values_;
  std::map<std::string, SourceLocation> locations_;
  mutable std::set<std::string> read_;
};

}  // namespace parrot
