// A plugin that claims it was built against another LibTorch: the loader must refuse it.

#include <parrot/plugin.hpp>

namespace {
parrot::Plugin describe() { return {"wrong_torch", {}, {}}; }
}  // namespace

PARROT_PLUGIN_WITH_VERSIONS(describe, ::parrot::kAbiVersion, "0.0.1-elsewhere")
