// A suite: the TOML file read, checked against the plugins, and expanded into runs.
// Everything a run needs is resolved here, so bad input fails before any training starts.
#pragma once

#include "expectations.hpp"
#include "registry.hpp"

#include <parrot/params.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace parrot {

struct TrainSettings {
  int64_t min_length, max_length;  // lengths sampled uniformly, both ends included
  int64_t context_length;          // tokens a training row feeds the model
  int64_t batch_size;              // rows per step
  int64_t steps;                   // the budget in optimizer steps, unless `examples` is set
  int64_t examples;                // the budget in examples seen; 0 = `steps` decides
  double early_stop;               // stop once the curve lengths reach this accuracy; 0 = off
  std::string optimizer;           // adamw | adam
  std::string schedule;            // linear | cosine | constant, after the warm-up
  std::string precision;           // fp32 | tf32 | bf16
  double learning_rate, weight_decay, adam_beta1, adam_beta2, grad_clip;
  int64_t warmup_steps;
  bool deterministic = false;  // only deterministic algorithms (see determinism.hpp)
};

struct EvalSettings {
  std::vector<int64_t> lengths;  // the length-generalization curve, after training
  int64_t examples;              // per length
  int64_t batch_size;
  int64_t curve_points;                // log-spaced evaluations during training
  std::vector<int64_t> curve_lengths;  // where the sample-efficiency curve is measured
  int64_t curve_examples;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainSettings, min_length, max_length, context_length,
                                   batch_size, steps, examples, early_stop, optimizer, schedule,
                                   precision, learning_rate, weight_decay, adam_beta1, adam_beta2,
                                   grad_clip, warmup_steps, deterministic)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EvalSettings, lengths, examples, batch_size, curve_points,
                                   curve_lengths, curve_examples)

struct ComponentChoice {
  std::string name;       // the suite's name for it: [architectures.<name>]
  std::string component;  // the plugin component
  Params params;
};

struct Run {
  std::string id;    // hash of `config`: stable while the resolved configuration is the same
  std::string name;  // <architecture>[@<axis>=<value>,...]/<task>/seed<N>, for people and globs
  ComponentChoice architecture;
  ComponentChoice task;                     // trained on
  std::vector<ComponentChoice> eval_tasks;  // evaluated on after training, at eval.lengths
  nlohmann::json sweep;                     // {"<axis>": value} picked for this run
  TrainSettings train;
  EvalSettings eval;
  int64_t seed;
  nlohmann::json config;
};

struct Suite {
  std::string name;  // results go to results/<name>/ unless --out says otherwise
  std::filesystem::path file;
  std::string device;         // auto | cpu | cuda
  double checkpoint_minutes;  // how often a run saves a checkpoint; 0 = only when stopped
  Registry registry;
  std::vector<Run> runs;
  std::vector<Expectation> expectations;  // [[expect]]
};

struct SuiteOptions {
  std::vector<std::filesystem::path> plugin_paths;  // --plugin: after the suite's plugin_paths
  std::vector<std::string> overrides;               // --set key.path=value, applied in order
};

// Reads, validates and expands a suite. Plugins are discovered in DESIGN.md's order, with the
// suite's plugin_paths (relative to the suite file) before the options'. Throws InputError with
// file:line:column (or the --set that caused it) for anything wrong.
Suite load_suite(const std::filesystem::path& file, const SuiteOptions& options = {});

// The schemas of [train] and [eval]: also what docs and `suite list` print.
const Schema& train_schema();
const Schema& eval_schema();

}  // namespace parrot
