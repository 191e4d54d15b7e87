// Plugin loading: dlopen, version handshake, then the descriptor.

#include "plugin_loader.hpp"

#include <parrot/error.hpp>

#include <dlfcn.h>

namespace parrot {

const char* core_torch_version() { return TORCH_VERSION; }

LoadedPlugin load_plugin(const std::filesystem::path& file) {
  std::error_code exists_error;
  if (!std::filesystem::is_regular_file(file, exists_error))
    throw InputError("plugin file not found: " + file.string());

  auto library = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code load_error;
  // rtld_now: a plugin with unresolved symbols fails here, with the symbol named, not mid-run.
  library->load(file, load_error, boost::dll::load_mode::rtld_now);
  if (load_error) {
    const char* reason = dlerror();
    throw InputError("cannot load plugin " + file.string() + ": " +
                     (reason ? reason : load_error.message()));
  }
  if (!library->has("parrot_abi_version") || !library->has("parrot_torch_version") ||
      !library->has("parrot_describe"))
    throw InputError(file.string() +
                     " is not a parrot plugin: it does not export parrot_abi_version, "
                     "parrot_torch_version and parrot_describe (declare it with PARROT_PLUGIN)");

  const int abi = library->get_alias<int()>("parrot_abi_version")();
  if (abi != kAbiVersion)
    throw InputError("plugin " + file.string() + " was built for plugin ABI version " +
                     std::to_string(abi) + " but this parrot has ABI version " +
                     std::to_string(kAbiVersion) + ": rebuild the plugin against this parrot");
  const std::string torch = library->get_alias<const char*()>("parrot_torch_version")();
  if (torch != core_torch_version())
    throw InputError("plugin " + file.string() + " was built against LibTorch " + torch +
                     " but this parrot uses LibTorch " + core_torch_version() +
                     ": rebuild the plugin against the same LibTorch");

  Plugin plugin = library->get_alias<Plugin()>("parrot_describe")();
  return {file, std::move(library), std::move(plugin)};
}

}  // namespace parrot
