// Turns a TOML table into Params against a schema: defaults filled in, every key type-checked.
// Errors carry file:line:column and a "did you mean" for unknown keys and string choices.
#pragma once

#include <parrot/params.hpp>

#include <toml++/toml.h>

#include <set>
#include <string>
#include <vector>

namespace parrot {

SourceLocation location_of(const toml::source_region& region);
SourceLocation location_of(const toml::node& node);

// A table's entries as the suite sees them: a key, its value and where the key was written (a
// value may come from elsewhere than its key: a sweep point or a --set override).
struct TomlEntry {
  std::string key;
  const toml::node* value;
  SourceLocation key_location;
};
using TomlEntries = std::vector<TomlEntry>;

TomlEntries entries_of(const toml::table& table);

// `owner` names the table in messages ("architecture 'tiny' (transformer)"); keys in `reserved`
// belong to the suite, not the component, and are skipped. An int list may also be written as a
// range: {from = 10, to = 100, step = 10} or {from = 10, to = 1000, factor = 2}; `to` is always
// included.
Params read_params(const TomlEntries& entries, const Schema& schema, const std::string& owner,
                   const std::set<std::string>& reserved = {});
Params read_params(const toml::table& table, const Schema& schema, const std::string& owner,
                   const std::set<std::string>& reserved = {});

// The same schema with other defaults: how a nested table overrides a parent's values.
Schema with_defaults(Schema schema, const Params& defaults);

}  // namespace parrot
