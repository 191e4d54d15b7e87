// The `mamba` architecture plugin: exports the model and its schema through the parrot plugin
// boundary.

#include <parrot/plugin.hpp>

#include "mamba.hpp"

namespace {

parrot::Plugin describe() {
  parrot::Plugin plugin{"mamba", {}, {}};
  plugin.architectures.push_back(
      {"mamba", "Mamba v1 (the paper's state space model): selective-scan blocks with RMSNorm",
       parrot::mamba::schema(), parrot::mamba::make});
  return plugin;
}

}  // namespace

PARROT_PLUGIN(describe)
