// A plugin that claims another plugin ABI version: the loader must refuse it.

#include <parrot/plugin.hpp>

namespace {
parrot::Plugin describe() { return {"wrong_abi", {}, {}}; }
}  // namespace

PARROT_PLUGIN_WITH_VERSIONS(describe, ::parrot::kAbiVersion + 1, TORCH_VERSION)
