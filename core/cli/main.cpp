// The `suite` command: run, list and validate suites. Maps failures to exit codes:
// 0 ok, 2 bad input, 3 a run failed.

#include "cpu_runtime.hpp"
#include "progress.hpp"
#include "results.hpp"
#include "suite.hpp"
#include "summary.hpp"
#include "toml_params.hpp"

#include <parrot/error.hpp>

#include <torch/cuda.h>
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <iostream>

namespace {

constexpr int kExitOk = 0;
constexpr int kExitBadInput = 2;
constexpr int kExitRunFailed = 3;

std::filesystem::path default_suite() {
  const std::filesystem::path here = "suites/quickstart.toml";
  if (std::filesystem::exists(here)) return here;
  return std::filesystem::path(PARROT_SOURCE_DIR) / here;
}

torch::Device pick_device(const std::string& wanted) {
  const bool has_cuda = torch::cuda::is_available();
  if (wanted == "cuda" && !has_cuda)
    throw parrot::InputError(
        "device \"cuda\" was asked for but no CUDA device is available (this LibTorch has no CUDA, "
        "or there is no GPU); use device = \"cpu\" or \"auto\"");
  if (wanted == "cuda" || (wanted == "auto" && has_cuda)) return torch::Device(torch::kCUDA);
  return torch::Device(torch::kCPU);
}

void print_schema(const parrot::Schema& schema, const std::string& indent) {
  size_t name_width = 0, type_width = 0, default_width = 0;
  for (const auto& spec : schema) {
    name_width = std::max(name_width, spec.name.size());
    type_width = std::max(type_width, std::string(parrot::to_string(spec.type)).size());
    default_width = std::max(default_width, parrot::to_string(spec.default_value).size());
  }
  for (const auto& spec : schema) {
    std::string choices;
    for (const auto& choice : spec.choices) choices += (choices.empty() ? " [" : " | ") + choice;
    if (!choices.empty()) choices += "]";
    const std::string type = parrot::to_string(spec.type);
    const std::string value = parrot::to_string(spec.default_value);
    std::cout << indent << spec.name << std::string(name_width - spec.name.size() + 2, ' ') << type
              << std::string(type_width - type.size() + 2, ' ') << value
              << std::string(default_width - value.size() + 2, ' ') << spec.doc << choices << "\n";
  }
}

int list(const std::vector<std::filesystem::path>& plugins) {
  const parrot::Registry registry = parrot::discover_plugins({}, plugins);
  for (const auto& loaded : registry.plugins()) {
    std::cout << "plugin " << loaded.plugin.name << "  (" << loaded.file.string() << ")\n";
    for (const auto& component : loaded.plugin.architectures) {
      std::cout << "  architecture " << component.name << ": " << component.help << "\n";
      print_schema(component.schema, "    ");
    }
    for (const auto& component : loaded.plugin.tasks) {
      std::cout << "  task " << component.name << ": " << component.help << "\n";
      print_schema(component.schema, "    ");
    }
  }
  std::cout << "suite settings\n  [train]\n";
  print_schema(parrot::train_schema(), "    ");
  std::cout << "  [eval]\n";
  print_schema(parrot::eval_schema(), "    ");
  return kExitOk;
}

int validate(const std::filesystem::path& file, const std::vector<std::filesystem::path>& plugins) {
  const parrot::Suite suite = parrot::load_suite(file, plugins);
  std::cout << file.string() << ": ok, " << suite.runs.size() << " runs\n";
  for (const auto& run : suite.runs) std::cout << "  " << run.id << "  " << run.name << "\n";
  return kExitOk;
}

int run(const std::filesystem::path& file, const std::vector<std::filesystem::path>& plugins,
        const std::filesystem::path& results, const std::string& device_option) {
  const parrot::Suite suite = parrot::load_suite(file, plugins);
  const torch::Device device = pick_device(device_option.empty() ? suite.device : device_option);
  const parrot::ResultStore store(results / suite.name);
  std::cerr << suite.name << ": " << suite.runs.size() << " runs on " << device.str()
            << ", results in " << store.folder().string() << "\n";

  parrot::ProgressPrinter printer(std::cerr, isatty(STDERR_FILENO));
  int failed = 0;
  for (size_t i = 0; i < suite.runs.size(); ++i) {
    const parrot::Run& run = suite.runs[i];
    printer.start(i + 1, suite.runs.size(), run.name);
    if (store.finished(run.id)) {
      printer.finish("finished earlier (" + store.file_of(run.id).filename().string() +
                     "), skipped");
      continue;
    }
    try {
      const parrot::RunResult result = parrot::execute_run(
          run, suite.registry, device, [&](const parrot::Progress& p) { printer.update(p); });
      store.write(run.id, parrot::run_records(run, result, device.str()));
      char outcome[128];
      std::snprintf(outcome, sizeof outcome, "done in %.1fs, %.0f tokens/s", result.wall_seconds,
                    result.tokens_per_second);
      printer.finish(outcome);
    } catch (const std::exception& error) {
      ++failed;
      printer.finish(std::string("FAILED: ") + error.what());
    }
  }
  std::cout << "\n" << parrot::summary_table(suite, store);
  if (failed) {
    std::cerr << "suite: " << failed << " of " << suite.runs.size() << " runs failed\n";
    return kExitRunFailed;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  parrot::configure_cpu_runtime();
  CLI::App app{"parrot: can this sequence model repeat, look up and retrieve what it has seen?",
               "suite"};
  app.require_subcommand(1);
  std::vector<std::filesystem::path> plugins;
  auto add_plugin_option = [&](CLI::App* command) {
    command->add_option("--plugin", plugins,
                        "a plugin file or folder, loaded after the build's plugins, "
                        "PARROT_PLUGIN_PATH and the suite's plugin_paths (repeatable)");
  };

  std::filesystem::path suite_file;
  std::filesystem::path results = "results";
  std::string device;
  CLI::App* run_command = app.add_subcommand("run", "train and evaluate every run of a suite");
  run_command->add_option("suite", suite_file, "the suite file (default: suites/quickstart.toml)");
  run_command->add_option("--results", results, "where results go: <results>/<suite name>/")
      ->capture_default_str();
  run_command->add_option("--device", device, "override the suite's device")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  add_plugin_option(run_command);

  CLI::App* list_command =
      app.add_subcommand("list", "list plugins, their components and every parameter");
  add_plugin_option(list_command);

  CLI::App* validate_command =
      app.add_subcommand("validate", "check a suite against the plugins without running it");
  validate_command->add_option("suite", suite_file, "the suite file")->required();
  add_plugin_option(validate_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? kExitOk : kExitBadInput;
  }

  try {
    if (*list_command) return list(plugins);
    if (*validate_command) return validate(suite_file, plugins);
    return run(suite_file.empty() ? default_suite() : suite_file, plugins, results, device);
  } catch (const parrot::InputError& error) {
    std::cerr << "suite: error: " << error.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& error) {
    std::cerr << "suite: failed: " << error.what() << "\n";
    return kExitRunFailed;
  }
}
