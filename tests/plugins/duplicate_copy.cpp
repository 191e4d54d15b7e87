// A well-formed plugin whose task name, "copy", is already taken by the built-in copy plugin.

#include <parrot/plugin.hpp>

#include "copy.hpp"

namespace {
parrot::Plugin describe() {
  parrot::Plugin plugin{"duplicate_copy", {}, {}};
  plugin.tasks.push_back({"copy", "a second copy", parrot::copy::schema(), parrot::copy::make});
  return plugin;
}
}  // namespace

PARROT_PLUGIN(describe)
