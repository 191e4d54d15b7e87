// The `suite` command: run, list, validate suites, list their runs, report on results. Maps
// outcomes to exit codes: 0 ok, 1 an expectation failed, 2 bad input, 3 a run failed,
// 128 + signal when stopped by SIGINT or SIGTERM.

#include "bench.hpp"
#include "cpu_runtime.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "report_format.hpp"
#include "results.hpp"
#include "run_lock.hpp"
#include "run_selection.hpp"
#include "stop_signal.hpp"
#include "suite.hpp"
#include "summary.hpp"
#include "toml_params.hpp"

#include <parrot/error.hpp>

#include <torch/cuda.h>
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cctype>
#include <fstream>
#include <iomanip>
#include <iostream>

namespace {

constexpr int kExitOk = 0;
constexpr int kExitExpectationFailed = 1;
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

// What every command that reads a suite takes from the command line.
struct SuiteArguments {
  std::filesystem::path file;
  parrot::SuiteOptions options;
  std::vector<std::string> only;
  std::string shard = "1/1";
  std::filesystem::path out;  // empty: results/<suite name>
};

struct LoadedSuite {
  parrot::Suite suite;
  std::vector<parrot::Run> selected;
  std::filesystem::path out;
};

LoadedSuite load(const SuiteArguments& arguments) {
  const parrot::Shard shard = parrot::parse_shard(arguments.shard);
  parrot::Suite suite = parrot::load_suite(arguments.file, arguments.options);
  std::vector<parrot::Run> selected = parrot::select_runs(suite.runs, arguments.only, shard);
  std::filesystem::path out =
      arguments.out.empty() ? std::filesystem::path("results") / suite.name : arguments.out;
  return {std::move(suite), std::move(selected), std::move(out)};
}

int validate(const SuiteArguments& arguments) {
  const LoadedSuite loaded = load(arguments);
  std::cout << arguments.file.string() << ": ok, " << loaded.suite.runs.size() << " runs";
  if (loaded.selected.size() != loaded.suite.runs.size())
    std::cout << ", " << loaded.selected.size() << " selected";
  std::cout << "\n";
  for (const auto& run : loaded.selected) std::cout << "  " << run.id << "  " << run.name << "\n";
  return kExitOk;
}

// `suite runs`: each selected run with where it stands in the results folder.
int list_runs(const SuiteArguments& arguments) {
  const LoadedSuite loaded = load(arguments);
  const parrot::ResultStore store(loaded.out);
  size_t done = 0;
  for (const auto& run : loaded.selected) {
    std::string status = "pending";
    if (store.finished(run.id)) {
      status = "done";
      ++done;
    } else if (parrot::RunLock::held(store.lock_of(run.id))) {
      status = "running";
    } else if (std::filesystem::exists(store.checkpoint_of(run.id))) {
      status = "checkpointed";
    }
    std::cout << run.id << "  " << status << std::string(14 - status.size(), ' ') << run.name
              << "\n";
  }
  std::cout << done << " of " << loaded.selected.size() << " runs done, results in "
            << store.folder().string() << "\n";
  return kExitOk;
}

// A file name for a bench row: the run's name and shape with anything but letters, digits, '.',
// '-' and '_' made '_'.
std::string file_name_for(const std::string& run_name, const std::string& shape) {
  std::string name = run_name + "_" + shape;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
  return name;
}

// `suite bench`: every selected run's training step at each shape, timed; a table on stdout and,
// with `json_out`, the same as JSON. With `profile_folder`, each row's trace goes there and its
// most expensive kernels are printed below the row. A run that fails (out of memory, say) is
// reported and the others go on; the exit code is then kExitRunFailed.
int bench(const SuiteArguments& arguments, const std::string& device_option,
          const std::vector<std::string>& shapes, parrot::BenchSettings settings,
          const std::filesystem::path& json_out, const std::filesystem::path& profile_folder) {
  std::vector<LoadedSuite> loads;  // one per shape, the suite's own when none is given
  for (const auto& text : shapes) {
    const parrot::StepShape shape = parrot::parse_step_shape(text);
    SuiteArguments shaped = arguments;
    shaped.options.overrides.push_back("train.batch_size=" + std::to_string(shape.batch_size));
    shaped.options.overrides.push_back("train.context_length=" +
                                       std::to_string(shape.context_length));
    loads.push_back(load(shaped));
  }
  if (shapes.empty()) loads.push_back(load(arguments));
  // Kernels listed per profiled row; the trace holds them all.
  constexpr size_t kProfileLines = 25;
  if (!profile_folder.empty()) {
    std::error_code error;
    std::filesystem::create_directories(profile_folder, error);
    if (error)
      throw parrot::InputError("--profile " + profile_folder.string() +
                               ": cannot be made: " + error.message());
  }
  size_t name_width = 4;
  for (const auto& loaded : loads)
    for (const auto& run : loaded.selected) name_width = std::max(name_width, run.name.size());
  const int width = static_cast<int>(name_width) + 2;

  std::cout << std::left << std::setw(width) << "run" << std::setw(9) << "shape" << std::setw(9)
            << "params" << std::setw(10) << "ms/step" << std::setw(11) << "tokens/s"
            << std::setw(10) << "peak GiB"
            << "step" << std::endl;
  nlohmann::json rows = nlohmann::json::array();
  int failed = 0;
  for (const auto& loaded : loads) {
    const torch::Device device =
        pick_device(device_option.empty() ? loaded.suite.device : device_option);
    for (const auto& run : loaded.selected) {
      const std::string shape =
          std::to_string(run.train.batch_size) + "x" + std::to_string(run.train.context_length);
      nlohmann::json row = {{"run", run.name},
                            {"architecture", run.architecture.component},
                            {"batch_size", run.train.batch_size},
                            {"context_length", run.train.context_length},
                            {"precision", run.train.precision},
                            {"device", device.str()},
                            {"warmup_steps", settings.warmup_steps},
                            {"steps", settings.steps}};
      std::cout << std::left << std::setw(width) << run.name << std::setw(9) << shape;
      if (!profile_folder.empty())
        settings.profile_trace = profile_folder / (file_name_for(run.name, shape) + ".json");
      try {
        const parrot::BenchResult result =
            parrot::bench_run(run, loaded.suite.registry, device, settings);
        char numbers[64];
        std::snprintf(numbers, sizeof numbers, "%-9s%-10.2f%-11.0f",
                      parrot::compact_count(static_cast<double>(result.parameters)).c_str(),
                      result.step_ms, result.tokens_per_second);
        char peak[32] = "-";
        if (result.peak_memory_bytes)
          std::snprintf(peak, sizeof peak, "%.1f", *result.peak_memory_bytes / 1073741824.0);
        std::cout << numbers << std::setw(10) << peak << result.mode << std::endl;
        row["parameters"] = result.parameters;
        row["mode"] = result.mode;
        row["step_ms"] = result.step_ms;
        row["tokens_per_second"] = result.tokens_per_second;
        row["peak_memory_bytes"] =
            result.peak_memory_bytes ? nlohmann::json(*result.peak_memory_bytes) : nlohmann::json();
        if (result.profile) {
          parrot::print_profile(std::cout, *result.profile, result.step_ms, kProfileLines);
          row["profile_trace"] = settings.profile_trace.string();
        }
      } catch (const c10::Error& error) {  // out of memory, most often
        ++failed;
        std::cout << "FAILED: " << error.what_without_backtrace() << std::endl;
        row["error"] = error.what_without_backtrace();
      }
      rows.push_back(std::move(row));
    }
  }
  if (!json_out.empty()) {
    std::ofstream out(json_out);
    out << rows.dump(2) << "\n";
    if (!out) throw parrot::InputError(json_out.string() + ": cannot be written");
  }
  return failed ? kExitRunFailed : kExitOk;
}

int run(const SuiteArguments& arguments, const std::string& device_option, bool fresh,
        bool cuda_graph) {
  const LoadedSuite loaded = load(arguments);
  const parrot::Suite& suite = loaded.suite;
  const torch::Device device = pick_device(device_option.empty() ? suite.device : device_option);
  const parrot::ResultStore store(loaded.out);
  store.write_manifest(
      parrot::suite_manifest(suite, parrot::expectations_to_json(suite.expectations)));
  std::cerr << suite.name << ": " << loaded.selected.size() << " of " << suite.runs.size()
            << " runs on " << device.str() << ", results in " << store.folder().string() << "\n";

  parrot::install_stop_handlers();
  parrot::ProgressPrinter printer(std::cerr, isatty(STDERR_FILENO));
  int failed = 0;
  for (size_t i = 0; i < loaded.selected.size(); ++i) {
    const parrot::Run& run = loaded.selected[i];
    printer.start(i + 1, loaded.selected.size(), run.name);
    if (store.finished(run.id) && !fresh) {
      printer.finish("finished earlier (" + store.file_of(run.id).filename().string() +
                     "), skipped");
      continue;
    }
    const auto lock = parrot::RunLock::try_acquire(store.lock_of(run.id));
    if (!lock) {
      printer.finish("running in another process, skipped");
      continue;
    }
    if (store.finished(run.id) && !fresh) {  // finished by another process while we looked
      printer.finish("finished by another process, skipped");
      continue;
    }
    const auto checkpoint = store.checkpoint_of(run.id);
    if (fresh) std::filesystem::remove(checkpoint);
    try {
      const parrot::RunResult result = parrot::execute_run(
          run, suite.registry, device, [&](const parrot::Progress& p) { printer.update(p); },
          {checkpoint, suite.checkpoint_minutes * 60, parrot::stop_requested}, cuda_graph);
      store.write(run.id, parrot::run_records(run, result, device.str()));
      std::filesystem::remove(checkpoint);
      // Safe while held: whoever opens the old file next finds the run finished and skips it.
      std::filesystem::remove(store.lock_of(run.id));
      char outcome[160];
      std::snprintf(outcome, sizeof outcome, "done in %.1fs, %.0f tokens/s%s", result.wall_seconds,
                    result.tokens_per_second,
                    result.stopped_early ? ", stopped early at the target accuracy" : "");
      printer.finish(outcome);
    } catch (const parrot::RunStopped& stopped) {
      printer.finish("stopped at step " + std::to_string(stopped.step) + ", checkpoint saved (" +
                     checkpoint.filename().string() + "); run the same command to resume");
      return 128 + parrot::stop_signal();
    } catch (const parrot::InputError&) {
      throw;
    } catch (const std::exception& error) {
      ++failed;
      printer.finish(std::string("FAILED: ") + error.what());
    }
  }
  std::cout << "\n" << parrot::summary_table(suite.name, loaded.selected, store);
  if (failed) {
    std::cerr << "suite: " << failed << " of " << loaded.selected.size() << " runs failed\n";
    return kExitRunFailed;
  }
  // Expectations speak about the whole suite: a part of it is judged by `suite report` once
  // every part has run.
  if (loaded.selected.size() < suite.runs.size()) {
    if (!suite.expectations.empty())
      std::cerr << "suite: expectations are judged by `suite report " << store.folder().string()
                << "` once every run is done\n";
    return kExitOk;
  }
  return parrot::check_expectations(store.folder(), std::cout) ? kExitOk : kExitExpectationFailed;
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

  SuiteArguments arguments;
  auto add_suite_options = [&](CLI::App* command) {
    command
        ->add_option("--set", arguments.options.overrides,
                     "override a suite value: key.path=value in TOML syntax, checked like the "
                     "file (repeatable), e.g. --set train.steps=500")
        ->allow_extra_args(false);
    command
        ->add_option("--only", arguments.only,
                     "only runs whose name matches this glob (repeatable), e.g. 'mamba*'")
        ->allow_extra_args(false);
    command
        ->add_option("--shard", arguments.shard,
                     "take the i-th of N interleaved parts of the runs (1 <= i <= N)")
        ->capture_default_str();
    command->add_option("--out", arguments.out,
                        "the results folder (default: results/<suite name>)");
  };

  // Where and how the commands that train run their steps.
  std::string device;
  bool no_graph = false;
  auto add_training_options = [&](CLI::App* command) {
    command->add_option("--device", device, "override the suite's device")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    command->add_flag(
        "--no-graph", no_graph,
        "on CUDA, run every training step eagerly instead of replaying it from a CUDA graph");
  };

  bool fresh = false;
  CLI::App* run_command = app.add_subcommand("run", "train and evaluate the runs of a suite");
  run_command->add_option("suite", arguments.file,
                          "the suite file (default: suites/quickstart.toml)");
  run_command->add_flag("--fresh", fresh,
                        "ignore earlier results and checkpoints: run every selected run again");
  add_training_options(run_command);
  add_suite_options(run_command);
  add_plugin_option(run_command);

  std::vector<std::string> shapes;
  parrot::BenchSettings bench_settings;
  std::filesystem::path bench_json;
  CLI::App* bench_command = app.add_subcommand(
      "bench", "time the training step of a suite's runs: ms per step, tokens/s, peak memory");
  bench_command->add_option("suite", arguments.file, "the suite file")->required();
  bench_command
      ->add_option("--shape", shapes,
                   "rows x tokens of a step, e.g. 8x220 (repeatable; default: the suite's)")
      ->allow_extra_args(false);
  bench_command->add_option("--steps", bench_settings.steps, "timed steps per run")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bench_command
      ->add_option("--warmup", bench_settings.warmup_steps,
                   "untimed steps first (the CUDA graph is captured in these)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_training_options(bench_command);
  bench_command->add_option("--json", bench_json, "also write the results to this JSON file");
  std::filesystem::path bench_profile;
  bench_command->add_option(
      "--profile", bench_profile,
      "profile 3 more steps of each run: a Chrome trace per run in this folder, and the "
      "kernels that take the most time below each row");
  add_suite_options(bench_command);
  add_plugin_option(bench_command);

  CLI::App* runs_command =
      app.add_subcommand("runs", "list a suite's runs and which are done, running or pending");
  runs_command->add_option("suite", arguments.file, "the suite file")->required();
  add_suite_options(runs_command);
  add_plugin_option(runs_command);

  std::filesystem::path results_folder, report_out;
  CLI::App* report_command = app.add_subcommand(
      "report",
      "write report.md, report.html, runs.csv, curves.csv and junit.xml for a results "
      "folder and judge the suite's expectations");
  report_command
      ->add_option("results", results_folder, "the results folder, e.g. results/quickstart")
      ->required();
  report_command->add_option("--out", report_out,
                             "where the report goes (default: the results folder)");

  CLI::App* list_command =
      app.add_subcommand("list", "list plugins, their components and every parameter");
  add_plugin_option(list_command);

  CLI::App* validate_command =
      app.add_subcommand("validate", "check a suite against the plugins without running it");
  validate_command->add_option("suite", arguments.file, "the suite file")->required();
  add_suite_options(validate_command);
  add_plugin_option(validate_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? kExitOk : kExitBadInput;
  }

  try {
    arguments.options.plugin_paths = plugins;
    if (*list_command) return list(plugins);
    if (*validate_command) return validate(arguments);
    if (*runs_command) return list_runs(arguments);
    if (*report_command)
      return parrot::report_command(results_folder,
                                    report_out.empty() ? results_folder : report_out, std::cout);
    if (*bench_command) {
      bench_settings.cuda_graph = !no_graph;
      return bench(arguments, device, shapes, bench_settings, bench_json, bench_profile);
    }
    if (arguments.file.empty()) arguments.file = default_suite();
    return run(arguments, device, fresh, !no_graph);
  } catch (const parrot::InputError& error) {
    std::cerr << "suite: error: " << error.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& error) {
    std::cerr << "suite: failed: " << error.what() << "\n";
    return kExitRunFailed;
  }
}
