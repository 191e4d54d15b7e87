// The `phonebook` task plugin: the paper's look-up tasks, with the key before or after the
// string, and a synthetic phone book.

#include <parrot/plugin.hpp>

#include "lookup.hpp"
#include "phonebook.hpp"

namespace {

parrot::Plugin describe() {
  using parrot::lookup::KeyAt;
  parrot::Plugin plugin{"phonebook", {}, {}};
  plugin.tasks.push_back(
      {"lookup_prefix", "key first: $ k | s | v . where v follows k's first occurrence in s",
       parrot::lookup::schema(),
       [](const parrot::Params& params) { return parrot::lookup::make(params, KeyAt::kPrefix); }});
  plugin.tasks.push_back(
      {"lookup_suffix", "key last: $ s | k v . where v follows k's first occurrence in s",
       parrot::lookup::schema(),
       [](const parrot::Params& params) { return parrot::lookup::make(params, KeyAt::kSuffix); }});
  plugin.tasks.push_back({"phonebook",
                          "a book of `name : number` lines, then ? name : and its number",
                          parrot::phonebook::schema(), parrot::phonebook::make});
  return plugin;
}

}  // namespace

PARROT_PLUGIN(describe)
