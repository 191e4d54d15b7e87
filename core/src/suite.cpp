// Suite loading: TOML -> checked settings and components -> the expanded list of runs.

#include "suite.hpp"

#include "suggest.hpp"
#include "suite_document.hpp"
#include "sweep.hpp"
#include "toml_params.hpp"

#include <parrot/error.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace parrot {

const Schema& train_schema() {
  static const Schema schema = {
      string_param("task", "copy", "the task trained on: an entry of [tasks] or a task component"),
      int_param("min_length", 1, "shortest training length (the task's size knob)"),
      int_param("max_length", 20, "longest training length; lengths are uniform in between"),
      int_param("context_length", 220, "tokens per training row; rows are packed with examples"),
      int_param("batch_size", 8, "rows per step"),
      int_param("steps", 2000, "the budget: optimizer steps (unless examples is set)"),
      int_param("examples", 0, "the budget in examples seen instead of steps; 0 = use steps"),
      float_param("early_stop", 0.0,
                  "stop once every curve length reaches this string accuracy; 0 = off"),
      string_param("optimizer", "adamw", "the optimizer", {"adamw", "adam"}),
      string_param("schedule", "linear", "the learning rate after the warm-up, towards 0",
                   {"linear", "cosine", "constant"}),
      string_param("precision", "fp32",
                   "fp32; tf32 (TF32 matmuls on CUDA); bf16 (autocast to bfloat16)",
                   {"fp32", "tf32", "bf16"}),
      float_param("learning_rate", 1e-3, "peak learning rate"),
      int_param("warmup_steps", 100, "linear warm-up steps, then the schedule"),
      float_param("weight_decay", 0.1, "weight decay on matrices and embeddings"),
      float_param("adam_beta1", 0.9, "Adam beta1"),
      float_param("adam_beta2", 0.999, "Adam beta2"),
      float_param("grad_clip", 1.0, "clip the global gradient norm to this; 0 = no clipping"),
      bool_param("deterministic", false,
                 "only deterministic algorithms, so that a seed trains the same way twice on "
                 "CUDA too (slower; an operation that has none fails the run)"),
  };
  return schema;
}

const Schema& eval_schema() {
  static const Schema schema = {
      int_list_param("lengths", {}, "lengths evaluated after training; [] = train.max_length"),
      int_param("examples", 256, "held-out examples per evaluation length"),
      int_param("batch_size", 64, "examples per evaluation batch"),
      int_param("curve_points", 10, "evaluations during training, log-spaced in the budget"),
      int_list_param("curve_lengths", {},
                     "lengths of the sample-efficiency curve; [] = max_length"),
      int_param("curve_examples", 128, "held-out examples per length at each curve point"),
  };
  return schema;
}

namespace {

const std::vector<std::string> kTopLevelKeys = {
    "name",  "seeds",         "device", "plugin_paths", "checkpoint_minutes", "train", "eval",
    "tasks", "architectures", "matrix", "expect"};

const std::string kNameCharacters =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

[[noreturn]] void fail_at(const toml::node& node, const std::string& message) {
  throw InputError(location_of(node).str() + ": " + message);
}

nlohmann::json to_json(const Params& params) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, value] : params.values())
    std::visit([&, key = key](const auto& v) { json[key] = v; }, value);
  return json;
}

nlohmann::json to_json(const ComponentChoice& choice) {
  return {
      {"name", choice.name}, {"component", choice.component}, {"params", to_json(choice.params)}};
}

// The training settings as a run's configuration, which its id hashes. A key added after
// results were published enters it only when set away from its default, so that published runs
// keep their ids.
nlohmann::json train_config(const TrainSettings& train) {
  nlohmann::json config = train;
  if (!train.deterministic) config.erase("deterministic");
  return config;
}

std::string hash_hex(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a: stable across builds and machines
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

// A table's entries in the order they appear in the file (toml++ keeps them sorted by key).
std::vector<std::pair<std::string, const toml::node*>> in_file_order(const toml::table& table) {
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [key, node] : table) entries.emplace_back(std::string(key.str()), &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& x = a.second->source().begin;
    const auto& y = b.second->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  return entries;
}

const toml::table* optional_table(const SuiteDocument& document, const std::string& path) {
  const toml::node* node = document.at(path);
  if (!node) return nullptr;
  if (!node->is_table()) fail_at(*node, path + " must be a table");
  return node->as_table();
}

// `component = "..."` of an entry, or the entry's own name.
std::string component_of(const SuiteDocument& document, const std::string& path,
                         const std::string& name) {
  const toml::node* node = document.at(path + ".component");
  if (!node) return name;
  if (!node->is_string()) fail_at(*node, "component must be a string naming a plugin component");
  return node->as_string()->get();
}

// Re-throws a registry lookup error at the place in the suite that asked for the component.
template <class Lookup>
auto at_location(const SourceLocation& where, Lookup lookup) -> decltype(lookup()) {
  try {
    return lookup();
  } catch (const InputError& error) {
    throw InputError(where.str() + ": " + error.what());
  }
}

struct ResolvedTask {
  ComponentChoice choice;
  std::shared_ptr<Task> task;
};

// A task named by the suite: an entry of [tasks] or, failing that, a component with defaults.
ResolvedTask resolve_task(const SuiteDocument& document, const std::string& name,
                          const SourceLocation& asked_at, const Registry& registry) {
  const std::string path = "tasks." + name;
  const bool has_entry = optional_table(document, path) != nullptr;
  const std::string component = component_of(document, path, name);
  const TaskComponent* spec = nullptr;
  if (has_entry) {
    const toml::node* component_node = document.at(path + ".component");
    const SourceLocation where =
        component_node ? location_of(*component_node) : location_of(*document.at(path));
    spec = &at_location(where, [&]() -> const TaskComponent& { return registry.task(component); });
  } else {
    try {
      spec = &registry.task(component);
    } catch (const InputError&) {
      std::vector<std::string> known = registry.task_names();
      if (const toml::table* tasks = optional_table(document, "tasks"))
        for (const auto& [key, node] : *tasks) known.emplace_back(key.str());
      throw InputError(asked_at.str() + ": no entry [tasks." + name + "] and no task component '" +
                       name + "'" + did_you_mean(name, known));
    }
  }
  ComponentChoice choice{name, component,
                         read_params(document.entries(path), spec->schema,
                                     "task '" + name + "' (" + component + ")", {"component"})};
  auto task = registry.make_task(component, choice.params);
  return {std::move(choice), std::move(task)};
}

void check_length(const Task& task, const std::string& task_name, int64_t length,
                  const Params& settings, const std::string& key) {
  try {
    task.check_length(length);
  } catch (const InputError& error) {
    settings.fail(key, "length " + std::to_string(length) + " does not fit task '" + task_name +
                           "': " + error.what());
  }
}

TrainSettings read_train(const Params& p, const Task& task, const std::string& task_name) {
  TrainSettings s{p.integer("min_length"),   p.integer("max_length"),   p.integer("context_length"),
                  p.integer("batch_size"),   p.integer("steps"),        p.integer("examples"),
                  p.real("early_stop"),      p.string("optimizer"),     p.string("schedule"),
                  p.string("precision"),     p.real("learning_rate"),   p.real("weight_decay"),
                  p.real("adam_beta1"),      p.real("adam_beta2"),      p.real("grad_clip"),
                  p.integer("warmup_steps"), p.boolean("deterministic")};
  check_length(task, task_name, s.min_length, p, "min_length");
  if (s.max_length < s.min_length)
    p.fail("max_length",
           "the length range is empty: min_length is " + std::to_string(s.min_length));
  check_length(task, task_name, s.max_length, p, "max_length");
  const int64_t needed = task.max_tokens(s.max_length);
  // A row holds context_length inputs plus the one target after them.
  if (needed > s.context_length + 1)
    p.fail("context_length", "an example of length " + std::to_string(s.max_length) + " takes " +
                                 std::to_string(needed) + " tokens, more than a row of " +
                                 std::to_string(s.context_length) +
                                 " (+1) holds; raise context_length or lower max_length");
  if (s.batch_size < 1) p.fail("batch_size", "must be at least 1");
  if (s.steps < 1) p.fail("steps", "must be at least 1");
  if (s.examples < 0) p.fail("examples", "must be 0 (use steps) or more");
  if (!(s.early_stop >= 0 && s.early_stop <= 1)) p.fail("early_stop", "must be in [0, 1]");
  if (!(s.learning_rate > 0)) p.fail("learning_rate", "must be positive");
  if (s.warmup_steps < 0) p.fail("warmup_steps", "must be 0 or more");
  if (s.weight_decay < 0) p.fail("weight_decay", "must be 0 or more");
  if (!(s.adam_beta1 >= 0 && s.adam_beta1 < 1)) p.fail("adam_beta1", "must be in [0, 1)");
  if (!(s.adam_beta2 >= 0 && s.adam_beta2 < 1)) p.fail("adam_beta2", "must be in [0, 1)");
  if (s.grad_clip < 0) p.fail("grad_clip", "must be 0 (off) or positive");
  return s;
}

EvalSettings read_eval(const Params& p, const TrainSettings& train) {
  EvalSettings s{p.int_list("lengths"),       p.integer("examples"),
                 p.integer("batch_size"),     p.integer("curve_points"),
                 p.int_list("curve_lengths"), p.integer("curve_examples")};
  if (s.lengths.empty()) s.lengths = {train.max_length};
  if (s.curve_lengths.empty()) s.curve_lengths = {train.max_length};
  if (s.examples < 1) p.fail("examples", "must be at least 1");
  if (s.batch_size < 1) p.fail("batch_size", "must be at least 1");
  if (s.curve_points < 0) p.fail("curve_points", "must be 0 or more");
  if (s.curve_examples < 1) p.fail("curve_examples", "must be at least 1");
  if (train.early_stop > 0 && s.curve_points == 0)
    p.fail("curve_points", "train.early_stop needs curve points to measure at");
  return s;
}

// The names of eval.tasks with where each was written; [train.task] when absent.
std::vector<std::pair<std::string, SourceLocation>> eval_task_names(const SuiteDocument& document,
                                                                    const Params& train) {
  const toml::node* node = document.at("eval.tasks");
  if (!node) return {{train.string("task"), train.location("task")}};
  if (!node->is_array() || node->as_array()->empty())
    fail_at(*node, "eval.tasks must be a non-empty array of task names");
  std::vector<std::pair<std::string, SourceLocation>> names;
  for (const auto& item : *node->as_array()) {
    if (!item.is_string()) fail_at(item, "eval.tasks entries must be strings naming tasks");
    names.emplace_back(item.as_string()->get(), location_of(item));
  }
  return names;
}

void check_same_vocabulary(const ResolvedTask& train, const ResolvedTask& eval,
                           const SourceLocation& where) {
  const Vocabulary a = train.task->vocabulary(), b = eval.task->vocabulary();
  if (a.names == b.names && a.pad == b.pad) return;
  throw InputError(where.str() + ": evaluation task '" + eval.choice.name + "' has another " +
                   "vocabulary (" + std::to_string(b.size()) + " tokens) than training task '" +
                   train.choice.name + "' (" + std::to_string(a.size()) +
                   " tokens): a model can only be evaluated on the tokens it was trained on");
}

std::vector<int64_t> read_seeds(const SuiteDocument& document) {
  const toml::node* node = document.at("seeds");
  if (!node) return {0};
  if (!node->is_array() || node->as_array()->empty())
    fail_at(*node, "seeds must be a non-empty array of ints");
  std::vector<int64_t> seeds;
  for (const auto& seed : *node->as_array()) {
    if (!seed.is_integer() || seed.as_integer()->get() < 0)
      fail_at(seed, "seeds must be ints >= 0");
    seeds.push_back(seed.as_integer()->get());
  }
  return seeds;
}

// What a run's name says about its sweep point: the leaf key of each axis, or the path below
// the architecture where two leaves collide.
nlohmann::json sweep_labels(const std::vector<const SweepAxis*>& axes, const NodesByPath& point,
                            const std::string& architecture_prefix) {
  std::map<std::string, int> leaf_count;
  for (const SweepAxis* axis : axes) ++leaf_count[split_path(axis->path).back()];
  nlohmann::json labels = nlohmann::json::object();
  for (const SweepAxis* axis : axes) {
    std::string label = split_path(axis->path).back();
    if (leaf_count[label] > 1) {
      label = axis->path;
      if (label.rfind(architecture_prefix, 0) == 0)
        label = label.substr(architecture_prefix.size());
    }
    labels[label] = value_label(*point.at(axis->path));
  }
  return labels;
}

std::string run_name(const std::string& architecture, const nlohmann::json& sweep,
                     const std::string& task, int64_t seed) {
  std::string name = architecture;
  std::string separator = "@";
  for (const auto& [label, value] : sweep.items()) {
    name += separator + label + "=" + value.get<std::string>();
    separator = ",";
  }
  return name + "/" + task + "/seed" + std::to_string(seed);
}

}  // namespace

Suite load_suite(const std::filesystem::path& file, const SuiteOptions& options) {
  SuiteDocument document(file);
  for (const auto& assignment : options.overrides) document.add_override(assignment);

  for (const auto& [key, node] : document.root()) {
    const std::string name(key.str());
    if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), name) == kTopLevelKeys.end())
      throw InputError(location_of(key.source()).str() + ": unknown suite key '" + name + "'" +
                       did_you_mean(name, kTopLevelKeys));
  }

  Suite suite;
  suite.file = file;
  suite.name = file.stem().string();
  if (const toml::node* name = document.at("name")) {
    if (!name->is_string()) fail_at(*name, "name must be a string");
    suite.name = name->as_string()->get();
    const bool safe = !suite.name.empty() &&
                      suite.name.find_first_not_of(kNameCharacters + ".") == std::string::npos;
    if (!safe || suite.name[0] == '.')
      fail_at(*name, "name must be letters, digits, '.', '_' or '-'");
  }
  suite.device = "auto";
  if (const toml::node* device = document.at("device")) {
    const std::vector<std::string> devices = {"auto", "cpu", "cuda"};
    const auto* text = device->as_string();
    if (!text || std::find(devices.begin(), devices.end(), text->get()) == devices.end())
      fail_at(*device, "device must be \"auto\", \"cpu\" or \"cuda\"");
    suite.device = text->get();
  }
  suite.checkpoint_minutes = 10;
  if (const toml::node* minutes = document.at("checkpoint_minutes")) {
    const auto value = minutes->value<double>();
    if (!value || !(*value >= 0))
      fail_at(*minutes, "checkpoint_minutes must be a number >= 0 (0: only when stopped)");
    suite.checkpoint_minutes = *value;
  }

  std::vector<std::filesystem::path> plugin_paths;
  if (const toml::node* paths = document.at("plugin_paths")) {
    if (!paths->is_array()) fail_at(*paths, "plugin_paths must be an array of strings");
    for (const auto& path : *paths->as_array()) {
      if (!path.is_string()) fail_at(path, "plugin_paths entries must be strings");
      plugin_paths.push_back(file.parent_path() / path.as_string()->get());
    }
  }
  suite.registry = discover_plugins(plugin_paths, options.plugin_paths);
  const std::vector<int64_t> seeds = read_seeds(document);

  for (const char* table : {"train", "eval", "tasks"}) optional_table(document, table);
  const toml::table* architectures = optional_table(document, "architectures");
  if (!architectures || architectures->empty())
    throw InputError(file.string() +
                     ": the suite names no architecture; add one, e.g.\n  [architectures.nope]\n"
                     "  component = \"transformer\"\n  positional = \"nope\"");
  for (const char* kind : {"architectures", "tasks"})
    if (const toml::table* entries = optional_table(document, kind))
      for (const auto& [key, node] : *entries)
        if (key.str().empty() ||
            std::string(key.str()).find_first_not_of(kNameCharacters) != std::string::npos)
          throw InputError(location_of(key.source()).str() + ": " + kind + " entry '" +
                           std::string(key.str()) + "': names are letters, digits, '_' or '-'");

  // The axes every architecture shares: [matrix] and lists in [train], [eval] and [tasks.*].
  std::vector<SweepAxis> shared_axes = matrix_axes(document);
  add_inline_axes(document, "train", train_schema(), {}, shared_axes);
  add_inline_axes(document, "eval", eval_schema(), {"tasks"}, shared_axes);
  if (const toml::table* tasks = optional_table(document, "tasks"))
    for (const auto& [key, node] : *tasks) {
      const std::string name(key.str()), path = "tasks." + name;
      const std::string component = component_of(document, path, name);
      const auto known = suite.registry.task_names();
      // An unknown component is reported where the task is used, with suggestions.
      if (std::find(known.begin(), known.end(), component) != known.end())
        add_inline_axes(document, path, suite.registry.task(component).schema, {"component"},
                        shared_axes);
    }
  for (const auto& axis : shared_axes) {
    const auto segments = split_path(axis.path);
    if (segments[0] == "architectures" && !architectures->get(segments.at(1)))
      throw InputError(location_of(*axis.values.front()).str() + ": [matrix] " + axis.path +
                       ": there is no [architectures." + segments.at(1) + "]");
  }
  std::set<std::string> used_axes;

  std::set<std::string> checked_models;
  std::map<std::string, std::string> name_of_id;
  for (const auto& [name, node] : in_file_order(*architectures)) {
    const std::string path = "architectures." + name;
    optional_table(document, path);
    const std::string component = component_of(document, path, name);
    const toml::node* component_node = document.at(path + ".component");
    const auto& spec = at_location(
        location_of(component_node ? *component_node : *node),
        [&]() -> const ArchitectureComponent& { return suite.registry.architecture(component); });

    std::vector<SweepAxis> axes;
    for (const auto& axis : shared_axes) {
      const auto segments = split_path(axis.path);
      if (segments[0] != "architectures" || segments.at(1) == name) axes.push_back(axis);
    }
    add_inline_axes(document, path, spec.schema, {"component", "train"}, axes);
    add_inline_axes(document, path + ".train", train_schema(), {}, axes);

    for (const NodesByPath& point : cross_product(axes)) {
      document.set_point(point);
      ComponentChoice architecture{
          name, component,
          read_params(document.entries(path), spec.schema,
                      "architecture '" + name + "' (" + component + ")", {"component", "train"})};
      const Params train_defaults =
          read_params(document.entries("train"), train_schema(), "[train]");
      const Params train =
          read_params(document.entries(path + ".train"),
                      with_defaults(train_schema(), train_defaults), "[" + path + ".train]");
      const Params eval = read_params(document.entries("eval"), eval_schema(), "[eval]", {"tasks"});

      const ResolvedTask task =
          resolve_task(document, train.string("task"), train.location("task"), suite.registry);
      const TrainSettings train_settings = read_train(train, *task.task, task.choice.name);
      const EvalSettings eval_settings = read_eval(eval, train_settings);
      for (int64_t length : eval_settings.curve_lengths)
        check_length(*task.task, task.choice.name, length, eval, "curve_lengths");
      std::vector<ComponentChoice> eval_tasks;
      std::set<std::string> tasks_used = {task.choice.name};
      for (const auto& [eval_name, where] : eval_task_names(document, train)) {
        const ResolvedTask evaluated = resolve_task(document, eval_name, where, suite.registry);
        check_same_vocabulary(task, evaluated, where);
        for (int64_t length : eval_settings.lengths)
          check_length(*evaluated.task, eval_name, length, eval, "lengths");
        if (!tasks_used.insert(eval_name).second && eval_name != task.choice.name)
          throw InputError(where.str() + ": eval.tasks names '" + eval_name + "' twice");
        eval_tasks.push_back(evaluated.choice);
      }

      // Axes on tasks this run does not use change nothing about it.
      std::vector<const SweepAxis*> run_axes;
      for (const auto& axis : axes) {
        const auto segments = split_path(axis.path);
        if (segments[0] == "tasks" && !tasks_used.count(segments.at(1))) continue;
        used_axes.insert(axis.path);
        // The name says the training task already.
        if (segments.back() == "task" && segments[segments.size() - 2] == "train") continue;
        run_axes.push_back(&axis);
      }
      const nlohmann::json sweep = sweep_labels(run_axes, point, path + ".");

      // Build the model once now, so that a parameter its factory rejects fails before any run.
      const nlohmann::json architecture_json = to_json(architecture);
      if (checked_models.insert(architecture_json.dump()).second)
        suite.registry.make_model(component, architecture.params, task.task->vocabulary().size());

      nlohmann::json eval_tasks_json = nlohmann::json::array();
      for (const auto& choice : eval_tasks) eval_tasks_json.push_back(to_json(choice));
      for (int64_t seed : seeds) {
        Run run{"",
                run_name(name, sweep, task.choice.name, seed),
                architecture,
                task.choice,
                eval_tasks,
                sweep,
                train_settings,
                eval_settings,
                seed,
                {}};
        run.config = {{"architecture", architecture_json},
                      {"task", to_json(task.choice)},
                      {"eval_tasks", eval_tasks_json},
                      {"train", train_config(train_settings)},
                      {"eval", eval_settings},
                      {"seed", seed}};
        run.id = hash_hex(run.config.dump());
        // Points that differ only on an axis no run uses give the same run: keep it once.
        const auto [known, inserted] = name_of_id.emplace(run.id, run.name);
        if (!inserted) continue;
        suite.runs.push_back(std::move(run));
      }
    }
    document.set_point({});
  }
  suite.expectations = read_expectations(document.at("expect"));
  for (const auto& axis : shared_axes)
    if (!used_axes.count(axis.path))
      throw InputError(location_of(*axis.values.front()).str() + ": " + axis.path +
                       " is swept but no run uses it (no architecture trains or evaluates on " +
                       "that task)");
  return suite;
}

}  // namespace parrot
