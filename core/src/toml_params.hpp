// Turns a TOML table into Params against a schema: defaults filled in, every key type-checked.
// Errors carry file:line:column and a "did you mean" for unknown keys and string choices.
#pragma once

#include <parrot/params.hpp>

#include <toml++/toml.h>

#include <set>
#include <string>

namespace parrot {

SourceLocation location_of(const toml::source_region& region);
SourceLocation location_of(const toml::node& node);

// `owner` names the table in messages ("architecture 'tiny' (transformer)"); keys in `reserved`
// belong to the suite, not the component, and are skipped.
Params read_params(const toml::table& table, const Schema& schema, const std::string& owner,
                   const std::set<std::string>& reserved = {});

// The same schema with other defaults: how a nested table overrides a parent's values.
Schema with_defaults(Schema schema, const Params& defaults);

}  // namespace parrot
