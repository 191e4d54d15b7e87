// Registry: discovery, name lookup and lifetime-safe construction.

#include "registry.hpp"

#include "suggest.hpp"

#include <parrot/error.hpp>

#include <algorithm>
#include <cstdlib>

namespace parrot {
namespace {

// Ties the object to its library: the Holder drops the object first, then the library.
template <class T>
std::shared_ptr<T> keep_loaded(std::shared_ptr<T> object,
                               std::shared_ptr<boost::dll::shared_library> library) {
  struct Holder {
    std::shared_ptr<boost::dll::shared_library> library;
    std::shared_ptr<T> object;
  };
  auto holder = std::make_shared<Holder>(Holder{std::move(library), std::move(object)});
  return std::shared_ptr<T>(holder, holder->object.get());
}

std::vector<std::filesystem::path> split_path_list(const char* list) {
  std::vector<std::filesystem::path> paths;
  std::string text = list ? list : "";
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(':', start), text.size());
    if (end > start) paths.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return paths;
}

}  // namespace

void Registry::add(const std::filesystem::path& file_or_folder) {
  if (!std::filesystem::is_directory(file_or_folder)) return add_file(file_or_folder);
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(file_or_folder))
    if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) add_file(file);
}

void Registry::add_file(const std::filesystem::path& file) {
  std::error_code error;
  const auto canonical = std::filesystem::weakly_canonical(file, error);
  for (const auto& loaded : plugins_)
    if (loaded.file == canonical) return;

  LoadedPlugin loaded = load_plugin(file);
  loaded.file = canonical;
  const size_t plugin = plugins_.size();
  std::map<std::string, Location> added;
  auto claim = [&](const std::string& name, size_t index, bool is_task) {
    const auto taken = components_.find(name);
    if (taken != components_.end() || added.count(name))
      throw InputError(
          "component '" + name + "' is provided by both " +
          (taken != components_.end() ? plugins_[taken->second.plugin].file : canonical).string() +
          " and " + canonical.string() + ": remove one of them from the plugin paths");
    added[name] = {plugin, index, is_task};
  };
  for (size_t i = 0; i < loaded.plugin.architectures.size(); ++i)
    claim(loaded.plugin.architectures[i].name, i, false);
  for (size_t i = 0; i < loaded.plugin.tasks.size(); ++i)
    claim(loaded.plugin.tasks[i].name, i, true);
  components_.merge(added);
  plugins_.push_back(std::move(loaded));
}

const Registry::Location& Registry::locate(const std::string& name, bool is_task) const {
  const auto found = components_.find(name);
  if (found == components_.end() || found->second.is_task != is_task) {
    const auto names = is_task ? task_names() : architecture_names();
    std::string known;
    for (const auto& known_name : names) known += (known.empty() ? "" : ", ") + known_name;
    throw InputError(std::string("unknown ") + (is_task ? "task" : "architecture") + " '" + name +
                     "'" + did_you_mean(name, names) +
                     "; loaded: " + (known.empty() ? "none" : known) +
                     " (plugins are found in the build's plugin folder, PARROT_PLUGIN_PATH, the "
                     "suite's plugin_paths and --plugin)");
  }
  return found->second;
}

const ArchitectureComponent& Registry::architecture(const std::string& name) const {
  const Location& at = locate(name, false);
  return plugins_[at.plugin].plugin.architectures[at.index];
}

const TaskComponent& Registry::task(const std::string& name) const {
  const Location& at = locate(name, true);
  return plugins_[at.plugin].plugin.tasks[at.index];
}

std::shared_ptr<Model> Registry::make_model(const std::string& name, const Params& params,
                                            int64_t vocabulary_size) const {
  const Location& at = locate(name, false);
  return keep_loaded(architecture(name).make(params, vocabulary_size), plugins_[at.plugin].library);
}

std::shared_ptr<Task> Registry::make_task(const std::string& name, const Params& params) const {
  const Location& at = locate(name, true);
  return keep_loaded(task(name).make(params), plugins_[at.plugin].library);
}

std::vector<std::string> Registry::architecture_names() const {
  std::vector<std::string> names;
  for (const auto& [name, at] : components_)
    if (!at.is_task) names.push_back(name);
  return names;
}

std::vector<std::string> Registry::task_names() const {
  std::vector<std::string> names;
  for (const auto& [name, at] : components_)
    if (at.is_task) names.push_back(name);
  return names;
}

Registry discover_plugins(const std::vector<std::filesystem::path>& suite_paths,
                          const std::vector<std::filesystem::path>& cli_paths) {
  Registry registry;
  if (std::filesystem::is_directory(PARROT_PLUGIN_DIR)) registry.add(PARROT_PLUGIN_DIR);
  auto add_all = [&](const std::vector<std::filesystem::path>& paths, const std::string& origin) {
    for (const auto& path : paths) {
      if (!std::filesystem::exists(path))
        throw InputError("plugin path not found: " + path.string() + " (from " + origin + ")");
      registry.add(path);
    }
  };
  add_all(split_path_list(std::getenv("PARROT_PLUGIN_PATH")), "PARROT_PLUGIN_PATH");
  add_all(suite_paths, "the suite's plugin_paths");
  add_all(cli_paths, "--plugin");
  return registry;
}

}  // namespace parrot
