// The `dedup` task plugin: the paper's duplicated n-gram copy.

#include <parrot/plugin.hpp>

#include "dedup.hpp"

namespace {

parrot::Plugin describe() {
  parrot::Plugin plugin{"dedup", {}, {}};
  plugin.tasks.push_back(
      {"dedup", "copy a string that repeats an n-gram of exactly ngram letters: $ s | s .",
       parrot::dedup::schema(), parrot::dedup::make});
  return plugin;
}

}  // namespace

PARROT_PLUGIN(describe)
