// TOML values to typed parameter values, with located errors.

#include "toml_params.hpp"

#include "suggest.hpp"

#include <parrot/error.hpp>

#include <algorithm>

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

Params read_params(const toml::table& table, const Schema& schema, const std::string& owner,
                   const std::set<std::string>& reserved) {
  std::map<std::string, Value> values;
  std::map<std::string, SourceLocation> locations;
  for (const auto& spec : schema) values[spec.name] = spec.default_value;

  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (reserved.count(name)) continue;
    const auto spec = std::find_if(schema.begin(), schema.end(),
                                   [&](const ParamSpec& s) { return s.name == name; });
    if (spec == schema.end()) {
      std::vector<std::string> known;
      for (const auto& s : schema) known.push_back(s.name);
      std::string listed;
      for (const auto& k : known) listed += (listed.empty() ? "" : ", ") + k;
      throw InputError(location_of(key.source()).str() + ": " + owner + ": unknown parameter '" +
                       name + "'" + did_you_mean(name, known) +
                       "; known: " + (listed.empty() ? "none" : listed));
    }
    values[name] = convert(node, *spec, owner);
    locations[name] = location_of(node);
  }
  return Params(owner, schema, std::move(values), std::move(locations));
}

Schema with_defaults(Schema schema, const Params& defaults) {
  for (auto& spec : schema) spec.default_value = defaults.values().at(spec.name);
  return schema;
}

}  // namespace parrot
