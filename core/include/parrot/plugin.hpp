// What a plugin exports: its components (architectures and tasks) with their schemas and
// factories, behind one macro. The loader checks the versions before it trusts anything else.
#pragma once

#include <parrot/model.hpp>
#include <parrot/params.hpp>
#include <parrot/task.hpp>

#include <torch/version.h>
#include <boost/dll/alias.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace parrot {

// Bump whenever a type in core/include/parrot/ changes layout or meaning.
constexpr int kAbiVersion = 2;

using ModelFactory = std::function<std::shared_ptr<Model>(const Params&, int64_t vocabulary_size)>;
using TaskFactory = std::function<std::shared_ptr<Task>(const Params&)>;

template <class Factory>
struct Component {
  std::string name;  // unique across every loaded plugin
  std::string help;  // one line
  Schema schema;
  Factory make;
};
using ArchitectureComponent = Component<ModelFactory>;
using TaskComponent = Component<TaskFactory>;

struct Plugin {
  std::string name;
  std::vector<ArchitectureComponent> architectures;
  std::vector<TaskComponent> tasks;
};

}  // namespace parrot

// Exports three symbols through Boost.DLL: the ABI version and LibTorch version the plugin was
// built with (plain types, read first), then `describe`, called only when both match the core.
#define PARROT_PLUGIN_WITH_VERSIONS(describe_function, abi_version, torch_version)   \
  namespace parrot_plugin_exports {                                                  \
  int abi_version_export() { return abi_version; }                                   \
  const char* torch_version_export() { return torch_version; }                       \
  ::parrot::Plugin describe_export() { return describe_function(); }                 \
  }                                                                                  \
  BOOST_DLL_ALIAS(parrot_plugin_exports::abi_version_export, parrot_abi_version)     \
  BOOST_DLL_ALIAS(parrot_plugin_exports::torch_version_export, parrot_torch_version) \
  BOOST_DLL_ALIAS(parrot_plugin_exports::describe_export, parrot_describe)

// Declares a plugin: `PARROT_PLUGIN(describe)` where `parrot::Plugin describe()` lists it.
#define PARROT_PLUGIN(describe_function) \
  PARROT_PLUGIN_WITH_VERSIONS(describe_function, ::parrot::kAbiVersion, TORCH_VERSION)
