// The `lstm` architecture plugin: exports the model and its schema through the parrot plugin
// boundary.

#include <parrot/plugin.hpp>

#include "lstm.hpp"

namespace {

parrot::Plugin describe() {
  parrot::Plugin plugin{"lstm", {}, {}};
  plugin.architectures.push_back(
      {"lstm", "stacked LSTM language model (the paper's recurrent baseline) with a fixed state",
       parrot::lstm::schema(), parrot::lstm::make});
  return plugin;
}

}  // namespace

PARROT_PLUGIN(describe)
