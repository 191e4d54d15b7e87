// Sweep axes and their cross product.

#include "sweep.hpp"

#include "report_format.hpp"

#include <parrot/error.hpp>

#include <algorithm>
#include <sstream>

namespace parrot {
namespace {

void collect_matrix(const toml::table& table, const std::string& prefix,
                    std::vector<SweepAxis>& axes) {
  for (const auto& [key, node] : table) {
    const std::string path = (prefix.empty() ? "" : prefix + ".") + std::string(key.str());
    if (node.is_table()) {
      collect_matrix(*node.as_table(), path, axes);
      continue;
    }
    if (!node.is_array() || node.as_array()->empty())
      throw InputError(location_of(node).str() + ": [matrix] " + path +
                       ": must be a non-empty array of the values to sweep");
    SweepAxis axis{path, {}};
    for (const auto& value : *node.as_array()) axis.values.push_back(&value);
    axes.push_back(std::move(axis));
  }
}

}  // namespace

std::vector<SweepAxis> matrix_axes(const SuiteDocument& document) {
  std::vector<SweepAxis> axes;
  const toml::node* matrix = document.at("matrix");
  if (!matrix) return axes;
  if (!matrix->is_table())
    throw InputError(location_of(*matrix).str() + ": matrix must be a table of key paths");
  collect_matrix(*matrix->as_table(), "", axes);
  for (const auto& axis : axes) {
    const std::string head = split_path(axis.path).front();
    if (head != "train" && head != "eval" && head != "tasks" && head != "architectures")
      throw InputError(location_of(*matrix->as_table()).str() + ": [matrix] " + axis.path +
                       ": only train.*, eval.*, tasks.* and architectures.* can be swept");
  }
  return axes;
}

void add_inline_axes(const SuiteDocument& document, const std::string& path, const Schema& schema,
                     const std::set<std::string>& reserved, std::vector<SweepAxis>& axes) {
  for (const auto& entry : document.entries(path)) {
    if (reserved.count(entry.key) || !entry.value->is_array()) continue;
    const auto spec = std::find_if(schema.begin(), schema.end(),
                                   [&](const ParamSpec& s) { return s.name == entry.key; });
    if (spec == schema.end()) continue;
    const toml::array& array = *entry.value->as_array();
    const bool several = spec->type != ParamType::kIntList ||
                         (!array.empty() && (array.front().is_array() || array.front().is_table()));
    if (!several) continue;
    if (array.empty())
      throw InputError(location_of(*entry.value).str() + ": " + path + "." + entry.key +
                       ": an empty sweep");
    SweepAxis axis{path + "." + entry.key, {}};
    for (const auto& value : array) axis.values.push_back(&value);
    const bool swept_twice = std::any_of(axes.begin(), axes.end(),
                                         [&](const SweepAxis& a) { return a.path == axis.path; });
    if (swept_twice)
      throw InputError(location_of(*entry.value).str() + ": " + axis.path +
                       " is swept twice: here and in [matrix]");
    axes.push_back(std::move(axis));
  }
}

std::vector<NodesByPath> cross_product(const std::vector<SweepAxis>& axes) {
  std::vector<NodesByPath> points = {{}};
  for (const auto& axis : axes) {
    std::vector<NodesByPath> extended;
    for (const auto& point : points)
      for (const toml::node* value : axis.values) {
        NodesByPath next = point;
        next[axis.path] = value;
        extended.push_back(std::move(next));
      }
    points = std::move(extended);
  }
  return points;
}

std::string value_label(const toml::node& value) {
  if (const auto* text = value.as_string()) return text->get();
  if (const auto* array = value.as_array()) {
    std::string label = "[";
    for (const auto& item : *array) label += (label.size() > 1 ? "," : "") + value_label(item);
    return label + "]";
  }
  if (const auto* table = value.as_table()) {
    std::string label = "{";
    for (const auto& [key, item] : *table)
      label += (label.size() > 1 ? "," : "") + std::string(key.str()) + "=" + value_label(item);
    return label + "}";
  }
  if (const auto* real = value.as_floating_point()) return shortest(real->get());
  std::ostringstream out;
  out << toml::node_view<const toml::node>(value);
  return out.str();
}

}  // namespace parrot
