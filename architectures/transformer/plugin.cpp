// The `transformer` architecture plugin: exports the model and its schema through the parrot
// plugin boundary.

#include <parrot/plugin.hpp>

#include "transformer.hpp"

namespace {

parrot::Plugin describe() {
  parrot::Plugin plugin{"transformer", {}, {}};
  plugin.architectures.push_back(
      {"transformer",
       "GPT-NeoX-style decoder (the paper's Transformer) with rope, nope, alibi or hard_alibi "
       "positions",
       parrot::transformer::schema(), parrot::transformer::make});
  return plugin;
}

}  // namespace

PARROT_PLUGIN(describe)
