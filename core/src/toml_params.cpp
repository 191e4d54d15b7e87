// TOML values to typed parameter values, with located errors.

#include "toml_params.hpp"

#include "suggest.hpp"

#include <parrot/error.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

namespace parrot {
namespace {

std::string toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::boolean:
      return "a bool";
    case toml::node_type::integer:
      return "an int";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

[[noreturn]] void fail_at(const toml::node& node, const std::string& owner, const std::string& key,
                          const std::string& message) {
  throw InputError(location_of(node).str() + ": " + owner + ": " + key + ": " + message);
}

// {from, to, step} or {from, to, factor}: the values from `from` up to `to`, `to` included.
std::vector<int64_t> int_range(const toml::table& range, const ParamSpec& spec,
                               const std::string& owner) {
  const std::string what = "a range is {from, to, step} or {from, to, factor}";
  for (const auto& [key, node] : range)
    if (key != "from" && key != "to" && key != "step" && key != "factor")
      throw InputError(location_of(key.source()).str() + ": " + owner + ": " + spec.name +
                       ": unknown range key '" + std::string(key.str()) + "'; " + what);
  auto integer = [&](const char* key) -> std::optional<int64_t> {
    const toml::node* node = range.get(key);
    if (!node) return std::nullopt;
    if (!node->is_integer()) fail_at(*node, owner, spec.name, std::string(key) + " must be an int");
    return node->as_integer()->get();
  };
  const auto from = integer("from"), to = integer("to"), step = integer("step");
  const toml::node* factor_node = range.get("factor");
  if (!from || !to || (!step == !factor_node))
    fail_at(range, owner, spec.name, what + " (exactly one of step and factor)");
  if (*to < *from) fail_at(range, owner, spec.name, "the range is empty: to < from");
  std::vector<int64_t> values;
  if (step) {
    if (*step < 1) fail_at(*range.get("step"), owner, spec.name, "step must be at least 1");
    for (int64_t value = *from; value < *to; value += *step) values.push_back(value);
  } else {
    const double factor = factor_node->value<double>().value_or(0);
    if (!(factor > 1)) fail_at(*factor_node, owner, spec.name, "factor must be a number above 1");
    if (*from < 1)
      fail_at(*range.get("from"), owner, spec.name, "a geometric range starts at 1 or more");
    // Rounded to ints; a value the rounding repeats is kept once.
    for (double value = *from; value < *to; value *= factor) {
      const int64_t rounded = std::llround(value);
      if (rounded < *to && (values.empty() || rounded != values.back())) values.push_back(rounded);
    }
  }
  values.push_back(*to);
  return values;
}

Value convert(const toml::node& node, const ParamSpec& spec, const std::string& owner) {
  auto wrong_type = [&]() {
    fail_at(node, owner, spec.name,
            std::string("must be ") + (spec.type == ParamType::kInt ? "an " : "a ") +
                to_string(spec.type) + ", got " + toml_type_name(node));
  };
  switch (spec.type) {
    case ParamType::kBool:
      if (!node.is_boolean()) wrong_type();
      return node.as_boolean()->get();
    case ParamType::kInt:
      if (!node.is_integer()) wrong_type();
      return node.as_integer()->get();
    case ParamType::kFloat:
      if (node.is_integer()) return static_cast<double>(node.as_integer()->get());
      if (!node.is_floating_point()) wrong_type();
      return node.as_floating_point()->get();
    case ParamType::kString: {
      if (!node.is_string()) wrong_type();
      const std::string text = node.as_string()->get();
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
        std::string accepted;
        for (const auto& choice : spec.choices)
          accepted += (accepted.empty() ? "" : " | ") + choice;
        fail_at(node, owner, spec.name,
                "'" + text + "' is not one of " + accepted + did_you_mean(text, spec.choices));
      }
      return text;
    }
    case ParamType::kIntList: {
      if (node.is_table()) return int_range(*node.as_table(), spec, owner);
      if (!node.is_array()) wrong_type();
      std::vector<int64_t> list;
      for (const auto& item : *node.as_array()) {
        if (!item.is_integer())
          fail_at(item, owner, spec.name,
                  "every entry must be an int, got " + toml_type_name(item));
        list.push_back(item.as_integer()->get());
      }
      return list;
    }
  }
  throw std::logic_error("unhandled parameter type");
}

}  // namespace

SourceLocation location_of(const toml::source_region& region) {
  return {region.path ? *region.path : std::string("<suite>"),
          static_cast<int64_t>(region.begin.line), static_cast<int64_t>(region.begin.column)};
}

SourceLocation location_of(const toml::node& node) { return location_of(node.source()); }

TomlEntries entries_of(const toml::table& table) {
  TomlEntries entries;
  for (const auto& [key, node] : table)
    entries.push_back({std::string(key.str()), &node, location_of(key.source())});
  return entries;
}

Params read_params(const TomlEntries& entries, const Schema& schema, const std::string& owner,
                   const std::set<std::string>& reserved) {
  std::map<std::string, Value> values;
  std::map<std::string, SourceLocation> locations;
  for (const auto& spec : schema) values[spec.name] = spec.default_value;

  for (const auto& [name, node, key_location] : entries) {
    if (reserved.count(name)) continue;
    const auto spec = std::find_if(schema.begin(), schema.end(),
                                   [&](const ParamSpec& s) { return s.name == name; });
    if (spec == schema.end()) {
      std::vector<std::string> known;
      for (const auto& s : schema) known.push_back(s.name);
      std::string listed;
      for (const auto& k : known) listed += (listed.empty() ? "" : ", ") + k;
      throw InputError(key_location.str() + ": " + owner + ": unknown parameter '" + name + "'" +
                       did_you_mean(name, known) +
                       "; known: " + (listed.empty() ? "none" : listed));
    }
    values[name] = convert(*node, *spec, owner);
    locations[name] = location_of(*node);
  }
  return Params(owner, schema, std::move(values), std::move(locations));
}

Params read_params(const toml::table& table, const Schema& schema, const std::string& owner,
                   const std::set<std::string>& reserved) {
  return read_params(entries_of(table), schema, owner, reserved);
}

Schema with_defaults(Schema schema, const Params& defaults) {
  for (auto& spec : schema) spec.default_value = defaults.values().at(spec.name);
  return schema;
}

}  // namespace parrot
