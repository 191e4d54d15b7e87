// Plugin loading: each way a plugin file can be wrong gets a message naming the file and the
// cause; discovery order and de-duplication; a library stays loaded while its objects live.

#include "registry.hpp"
#include "test_support.hpp"

#include <parrot/error.hpp>

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace parrot {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

const std::filesystem::path kTestPlugins = PARROT_TEST_PLUGIN_DIR;
const std::filesystem::path kPlugins = PARROT_PLUGIN_DIR;

std::string load_error(const std::filesystem::path& file) {
  try {
    load_plugin(file);
  } catch (const InputError& error) {
    return error.what();
  }
  return "no error";
}

TEST(LoadPlugin, MissingFile) {
  EXPECT_THAT(load_error("/nowhere/gone.so"), HasSubstr("plugin file not found: /nowhere/gone.so"));
}

TEST(LoadPlugin, NotASharedLibrary) {
  test::TempDir dir;
  const auto file = dir.write("fake.so", "not an ELF file");
  EXPECT_THAT(load_error(file), AllOf(HasSubstr("cannot load plugin"), HasSubstr("fake.so")));
}

TEST(LoadPlugin, SharedLibraryThatIsNoPlugin) {
  EXPECT_THAT(
      load_error(kTestPlugins / "not_a_plugin" / "not_a_plugin.so"),
      AllOf(HasSubstr("not_a_plugin.so is not a parrot plugin"), HasSubstr("PARROT_PLUGIN")));
}

TEST(LoadPlugin, WrongAbiNamesFileAndBothVersions) {
  EXPECT_THAT(load_error(kTestPlugins / "wrong_abi" / "wrong_abi.so"),
              AllOf(HasSubstr("wrong_abi.so"),
                    HasSubstr("plugin ABI version " + std::to_string(kAbiVersion + 1)),
                    HasSubstr("this parrot has ABI version " + std::to_string(kAbiVersion))));
}

TEST(LoadPlugin, WrongTorchNamesFileAndBothVersions) {
  EXPECT_THAT(load_error(kTestPlugins / "wrong_torch" / "wrong_torch.so"),
              AllOf(HasSubstr("wrong_torch.so"), HasSubstr("LibTorch 0.0.1-elsewhere"),
                    HasSubstr(std::string("this parrot uses LibTorch ") + TORCH_VERSION)));
}

TEST(LoadPlugin, GoodPluginDescribesItsComponents) {
  const LoadedPlugin loaded = load_plugin(kPlugins / "copy.so");
  EXPECT_EQ(loaded.plugin.name, "copy");
  ASSERT_EQ(loaded.plugin.tasks.size(), 1u);
  EXPECT_EQ(loaded.plugin.tasks[0].name, "copy");
  EXPECT_FALSE(loaded.plugin.tasks[0].help.empty());
}

TEST(Registry, DuplicateComponentNamesBothFiles) {
  Registry registry;
  registry.add(kPlugins);
  const std::vector<std::string> before = registry.task_names();
  try {
    registry.add(kTestPlugins / "duplicate_copy");
    FAIL() << "a second 'copy' was accepted";
  } catch (const InputError& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("component 'copy' is provided by both"),
                                    HasSubstr("plugins/copy.so"), HasSubstr("duplicate_copy.so")));
  }
  EXPECT_EQ(registry.task_names(), before);  // the refused plugin added nothing
}

TEST(Registry, TheSameFileTwiceIsLoadedOnce) {
  Registry registry;
  registry.add(kPlugins);
  registry.add(kPlugins / "copy.so");
  registry.add(kPlugins / ".." / "plugins");
  EXPECT_EQ(registry.plugins().size(), std::distance(std::filesystem::directory_iterator(kPlugins),
                                                     std::filesystem::directory_iterator()));
}

TEST(Registry, UnknownComponentListsWhatIsLoaded) {
  Registry registry;
  registry.add(kPlugins);
  try {
    registry.task("cpoy");
    FAIL();
  } catch (const InputError& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("unknown task 'cpoy' (did you mean 'copy'?)"),
                                    HasSubstr("loaded: copy")));
  }
}

TEST(Discovery, EnvironmentSuiteAndCommandLinePathsAreAllSearched) {
  ::setenv("PARROT_PLUGIN_PATH", (kTestPlugins / "duplicate_copy").c_str(), 1);
  EXPECT_THROW(discover_plugins(), InputError);  // the build folder's copy and the env's collide
  ::setenv("PARROT_PLUGIN_PATH", "/no/such/folder", 1);
  try {
    discover_plugins();
    FAIL();
  } catch (const InputError& error) {
    EXPECT_THAT(error.what(), HasSubstr("/no/such/folder (from PARROT_PLUGIN_PATH)"));
  }
  ::unsetenv("PARROT_PLUGIN_PATH");
  EXPECT_THAT(
      [] {
        try {
          discover_plugins({}, {kTestPlugins / "wrong_abi"});
        } catch (const InputError& error) {
          return std::string(error.what());
        }
        return std::string();
      }(),
      HasSubstr("wrong_abi.so"));
  EXPECT_THROW(discover_plugins({"/absent/suite/plugins"}), InputError);
  EXPECT_NO_THROW(discover_plugins({}, {kPlugins / "copy.so"}));
}

TEST(Registry, LibraryStaysLoadedWhileAnObjectMadeByItLives) {
  const auto file = std::filesystem::weakly_canonical(kPlugins / "copy.so");
  std::shared_ptr<Task> task;
  {
    Registry registry;
    registry.add(file);
    task = registry.make_task("copy", test::params_with(registry.task("copy").schema));
  }
  // The registry is gone; the task's code and vtable must still be mapped.
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr) << "copy.so was unloaded while a task made by it lives";
  ::dlclose(handle);
  Rng rng(1);
  EXPECT_EQ(task->sample(4, rng).tokens.size(), 11u);
}

}  // namespace
}  // namespace parrot
