// Loads one plugin file through Boost.DLL and checks it was built for this core.
// The library handle travels with everything made from it, so code never outlives its file.
#pragma once

#include <parrot/plugin.hpp>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>

namespace parrot {

struct LoadedPlugin {
  std::filesystem::path file;
  // Declared before `plugin`: members die in reverse order, so the plugin's std::functions are
  // destroyed while their code is still mapped.
  std::shared_ptr<boost::dll::shared_library> library;
  Plugin plugin;
};

// Throws InputError naming the file when it is missing, not a parrot plugin, or built for another
// plugin ABI or LibTorch version (both versions in the message).
LoadedPlugin load_plugin(const std::filesystem::path& file);

// The versions the core was built with, as plugins report theirs.
const char* core_torch_version();

}  // namespace parrot
