// Every component of every loaded plugin, by name, and the factories that make them.
// Made objects hold their plugin's library, so a model outlives neither its code nor its vtable.
#pragma once

#include "plugin_loader.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace parrot {

class Registry {
 public:
  // Loads one plugin file, or every *.so in a folder (sorted, so the order is stable). A file
  // already loaded is skipped; a component name already taken is an error naming both files.
  void add(const std::filesystem::path& file_or_folder);

  const ArchitectureComponent& architecture(const std::string& name) const;
  const TaskComponent& task(const std::string& name) const;

  std::shared_ptr<Model> make_model(const std::string& name, const Params& params,
                                    int64_t vocabulary_size) const;
  std::shared_ptr<Task> make_task(const std::string& name, const Params& params) const;

  const std::vector<LoadedPlugin>& plugins() const { return plugins_; }
  std::vector<std::string> architecture_names() const;
  std::vector<std::string> task_names() const;

 private:
  struct Location {
    size_t plugin;
    size_t index;
    bool is_task;
  };
  const Location& locate(const std::string& name, bool is_task) const;
  void add_file(const std::filesystem::path& file);

  std::vector<LoadedPlugin> plugins_;
  std::map<std::string, Location> components_;
};

// The discovery order of DESIGN.md: the build's plugin folder, each folder of PARROT_PLUGIN_PATH,
// the suite's plugin_paths, then --plugin paths. Missing user-given paths are errors.
Registry discover_plugins(const std::vector<std::filesystem::path>& suite_paths = {},
                          const std::vector<std::filesystem::path>& cli_paths = {});

}  // namespace parrot
