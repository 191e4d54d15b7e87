// Params: typed reads of resolved component parameters, with errors that point at the suite.

#include <parrot/error.hpp>
#include <parrot/params.hpp>

#include <sstream>

namespace parrot {

const char* to_string(ParamType type) {
  switch (type) {
    case ParamType::kBool:
      return "bool";
    case ParamType::kInt:
      return "int";
    case ParamType::kFloat:
      return "float";
    case ParamType::kString:
      return "string";
    case ParamType::kIntList:
      return "int list";
  }
  return "?";
}

std::string to_string(const Value& value) {
  struct Printer {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      std::ostringstream out;
      out << d;
      const std::string text = out.str();
      // TOML needs a dot or exponent to read a float back as a float.
      return text.find_first_of(".eEn") == std::string::npos ? text + ".0" : text;
    }
    std::string operator()(const std::string& s) const { return '"' + s + '"'; }
    std::string operator()(const std::vector<int64_t>& list) const {
      std::string text = "[";
      for (size_t i = 0; i < list.size(); ++i) text += (i ? ", " : "") + std::to_string(list[i]);
      return text + "]";
    }
  };
  return std::visit(Printer{}, value);
}

std::string SourceLocation::str() const {
  if (file.empty()) return "(default)";
  if (file.rfind("--set ", 0) == 0) return file;  // an override is one line of the command
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

Params::Params(std::string owner, Schema schema, std::map<std::string, Value> values,
               std::map<std::string, SourceLocation> locations)
    : owner_(std::move(owner)),
      schema_(std::move(schema)),
      values_(std::move(values)),
      locations_(std::move(locations)) {}

const Value& Params::read(const std::string& key, ParamType type) const {
  for (const auto& spec : schema_) {
    if (spec.name != key) continue;
    if (spec.type != type) {
      // A plugin bug, not the user's: the factory reads a key as a type its schema does not
      // declare.
      throw std::logic_error(owner_ + ": parameter '" + key + "' is declared " +
                             to_string(spec.type) + " but read as " + to_string(type));
    }
    read_.insert(key);
    return values_.at(key);
  }
  throw std::logic_error(owner_ + ": parameter '" + key + "' is read but not in the schema");
}

bool Params::boolean(const std::string& key) const {
  return std::get<bool>(read(key, ParamType::kBool));
}
int64_t Params::integer(const std::string& key) const {
  return std::get<int64_t>(read(key, ParamType::kInt));
}
double Params::real(const std::string& key) const {
  return std::get<double>(read(key, ParamType::kFloat));
}
const std::string& Params::string(const std::string& key) const {
  return std::get<std::string>(read(key, ParamType::kString));
}
const std::vector<int64_t>& Params::int_list(const std::string& key) const {
  return std::get<std::vector<int64_t>>(read(key, ParamType::kIntList));
}

int64_t Params::integer_at_least(const std::string& key, int64_t minimum) const {
  const int64_t value = integer(key);
  if (value < minimum) fail(key, "must be at least " + std::to_string(minimum));
  return value;
}

SourceLocation Params::location(const std::string& key) const {
  const auto where = locations_.find(key);
  return where == locations_.end() ? SourceLocation{} : where->second;
}

void Params::fail(const std::string& key, const std::string& message) const {
  const auto where = locations_.find(key);
  const std::string location = where == locations_.end() ? "" : where->second.str() + ": ";
  const auto value = values_.find(key);
  const std::string shown = value == values_.end() ? "" : " = " + to_string(value->second);
  throw InputError(location + owner_ + ": " + key + shown + ": " + message);
}

std::vector<std::string> Params::unread() const {
  std::vector<std::string> keys;
  for (const auto& spec : schema_)
    if (!read_.count(spec.name)) keys.push_back(spec.name);
  return keys;
}

}  // namespace parrot
