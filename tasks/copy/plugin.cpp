// The `copy` task plugin: exports the copy task through the parrot plugin boundary.

#include <parrot/plugin.hpp>

#include "copy.hpp"

namespace {

parrot::Plugin describe() {
  parrot::Plugin plugin{"copy", {}, {}};
  plugin.tasks.push_back({"copy", "copy a uniform random string: $ s | s . (the paper's format)",
                          parrot::copy::schema(), parrot::copy::make});
  return plugin;
}

}  // namespace

PARROT_PLUGIN(describe)
