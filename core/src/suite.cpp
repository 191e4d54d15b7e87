// Suite loading: TOML -> checked settings and components -> the expanded list of runs.

#include "suite.hpp"

#include "suggest.hpp"
#include "toml_params.hpp"

#include <parrot/error.hpp>

#include <algorithm>
#include <cstdio>

namespace parrot {

const Schema& train_schema() {
  static const Schema schema = {
      string_param("task", "copy", "the task trained on: an entry of [tasks] or a task component"),
      int_param("min_length", 1, "shortest training length (the task's size knob)"),
      int_param("max_length", 20, "longest training length; lengths are uniform in between"),
      int_param("context_length", 220, "tokens per training row; rows are packed with examples"),
      int_param("batch_size", 8, "rows per step"),
      int_param("steps", 2000, "optimizer steps"),
      float_param("learning_rate", 1e-3, "peak AdamW learning rate"),
      int_param("warmup_steps", 100, "linear warm-up steps, then linear decay to 0"),
      float_param("weight_decay", 0.1, "AdamW weight decay on matrices and embeddings"),
      float_param("adam_beta1", 0.9, "AdamW beta1"),
      float_param("adam_beta2", 0.999, "AdamW beta2"),
      float_param("grad_clip", 1.0, "clip the global gradient norm to this; 0 = no clipping"),
  };
  return schema;
}

const Schema& eval_schema() {
  static const Schema schema = {
      int_list_param("lengths", {}, "lengths evaluated after training; [] = train.max_length"),
      int_param("examples", 256, "held-out examples per evaluation length"),
      int_param("batch_size", 64, "examples per evaluation batch"),
      int_param("curve_points", 10, "evaluations during training, log-spaced in examples seen"),
      int_list_param("curve_lengths", {},
                     "lengths of the sample-efficiency curve; [] = max_length"),
      int_param("curve_examples", 128, "held-out examples per length at each curve point"),
  };
  return schema;
}

namespace {

const std::vector<std::string> kTopLevelKeys = {"name",  "seeds", "device",        "plugin_paths",
                                                "train", "eval",  "architectures", "tasks"};

[[noreturn]] void fail_at(const toml::node& node, const std::string& message) {
  throw InputError(location_of(node).str() + ": " + message);
}

nlohmann::json to_json(const Params& params) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, value] : params.values())
    std::visit([&, key = key](const auto& v) { json[key] = v; }, value);
  return json;
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

const toml::table& table_at(const toml::node& node, const std::string& what) {
  if (!node.is_table()) fail_at(node, what + " must be a table");
  return *node.as_table();
}

// `[<kind>s.<name>]` with an optional `component` key (default: the entry's own name).
ComponentChoice read_choice(const std::string& kind, const std::string& name,
                            const toml::table& table, const Schema& schema,
                            const std::string& component) {
  return {name, component,
          read_params(table, schema, kind + " '" + name + "' (" + component + ")",
                      {"component", "train"})};
}

std::string component_of(const std::string& name, const toml::table& table) {
  const toml::node* node = table.get("component");
  if (!node) return name;
  if (!node->is_string()) fail_at(*node, "component must be a string naming a plugin component");
  return node->as_string()->get();
}

// Re-throws a registry lookup error at the place in the suite that asked for the component.
template <class Lookup>
auto at_node(const toml::node& node, Lookup lookup) -> decltype(lookup()) {
  try {
    return lookup();
  } catch (const InputError& error) {
    fail_at(node, error.what());
  }
}

struct TaskInfo {
  ComponentChoice choice;
  std::shared_ptr<Task> task;
};

TaskInfo resolve_task(const Params& train, const toml::table* tasks, const Registry& registry) {
  const std::string name = train.string("task");
  const toml::node* entry = tasks ? tasks->get(name) : nullptr;
  static const toml::table empty;
  const toml::table& table = entry ? table_at(*entry, "[tasks." + name + "]") : empty;
  const std::string component = component_of(name, table);
  const TaskComponent* spec = nullptr;
  if (entry) {
    const toml::node& asked = table.get("component") ? *table.get("component") : *entry;
    spec = &at_node(asked, [&]() -> const TaskComponent& { return registry.task(component); });
  } else {
    try {
      spec = &registry.task(component);
    } catch (const InputError&) {
      std::vector<std::string> known = registry.task_names();
      if (tasks)
        for (const auto& [key, node] : *tasks) known.emplace_back(key.str());
      train.fail("task", "no entry [tasks." + name + "] and no task component '" + name + "'" +
                             did_you_mean(name, known));
    }
  }
  ComponentChoice choice = read_choice("task", name, table, spec->schema, component);
  auto task = registry.make_task(component, choice.params);
  return {std::move(choice), std::move(task)};
}

void check_length(const Task& task, int64_t length, const Params& settings,
                  const std::string& key) {
  try {
    task.check_length(length);
  } catch (const InputError& error) {
    settings.fail(key,
                  "length " + std::to_string(length) + " does not fit the task: " + error.what());
  }
}

TrainSettings read_train(const Params& p, const Task& task) {
  TrainSettings s{p.integer("min_length"), p.integer("max_length"),  p.integer("context_length"),
                  p.integer("batch_size"), p.integer("steps"),       p.real("learning_rate"),
                  p.real("weight_decay"),  p.real("adam_beta1"),     p.real("adam_beta2"),
                  p.real("grad_clip"),     p.integer("warmup_steps")};
  check_length(task, s.min_length, p, "min_length");
  if (s.max_length < s.min_length)
    p.fail("max_length",
           "the length range is empty: min_length is " + std::to_string(s.min_length));
  check_length(task, s.max_length, p, "max_length");
  const int64_t needed = task.max_tokens(s.max_length);
  // A row holds context_length inputs plus the one target after them.
  if (needed > s.context_length + 1)
    p.fail("context_length", "an example of length " + std::to_string(s.max_length) + " takes " +
                                 std::to_string(needed) + " tokens, more than a row of " +
                                 std::to_string(s.context_length) +
                                 " (+1) holds; raise context_length or lower max_length");
  if (s.batch_size < 1) p.fail("batch_size", "must be at least 1");
  if (s.steps < 1) p.fail("steps", "must be at least 1");
  if (!(s.learning_rate > 0)) p.fail("learning_rate", "must be positive");
  if (s.warmup_steps < 0) p.fail("warmup_steps", "must be 0 or more");
  if (s.weight_decay < 0) p.fail("weight_decay", "must be 0 or more");
  if (!(s.adam_beta1 >= 0 && s.adam_beta1 < 1)) p.fail("adam_beta1", "must be in [0, 1)");
  if (!(s.adam_beta2 >= 0 && s.adam_beta2 < 1)) p.fail("adam_beta2", "must be in [0, 1)");
  if (s.grad_clip < 0) p.fail("grad_clip", "must be 0 (off) or positive");
  return s;
}

EvalSettings read_eval(const Params& p, const Task& task, const TrainSettings& train) {
  EvalSettings s{p.int_list("lengths"),       p.integer("examples"),
                 p.integer("batch_size"),     p.integer("curve_points"),
                 p.int_list("curve_lengths"), p.integer("curve_examples")};
  if (s.lengths.empty()) s.lengths = {train.max_length};
  if (s.curve_lengths.empty()) s.curve_lengths = {train.max_length};
  for (int64_t length : s.lengths) check_length(task, length, p, "lengths");
  for (int64_t length : s.curve_lengths) check_length(task, length, p, "curve_lengths");
  if (s.examples < 1) p.fail("examples", "must be at least 1");
  if (s.batch_size < 1) p.fail("batch_size", "must be at least 1");
  if (s.curve_points < 0) p.fail("curve_points", "must be 0 or more");
  if (s.curve_examples < 1) p.fail("curve_examples", "must be at least 1");
  return s;
}

}  // namespace

Suite load_suite(const std::filesystem::path& file,
                 const std::vector<std::filesystem::path>& cli_plugin_paths) {
  if (!std::filesystem::is_regular_file(file))
    throw InputError("suite file not found: " + file.string());
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& error) {
    throw InputError(location_of(error.source()).str() +
                     ": malformed TOML: " + std::string(error.description()));
  }

  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), name) == kTopLevelKeys.end())
      throw InputError(location_of(key.source()).str() + ": unknown suite key '" + name + "'" +
                       did_you_mean(name, kTopLevelKeys));
  }

  Suite suite;
  suite.name = file.stem().string();
  if (const toml::node* name = root.get("name")) {
    if (!name->is_string()) fail_at(*name, "name must be a string");
    suite.name = name->as_string()->get();
    const bool safe = !suite.name.empty() &&
                      suite.name.find_first_not_of(
                          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                          std::string::npos;
    if (!safe || suite.name[0] == '.')
      fail_at(*name, "name must be letters, digits, '.', '_' or '-'");
  }
  suite.device = "auto";
  if (const toml::node* device = root.get("device")) {
    const std::vector<std::string> devices = {"auto", "cpu", "cuda"};
    const auto* text = device->as_string();
    if (!text || std::find(devices.begin(), devices.end(), text->get()) == devices.end())
      fail_at(*device, "device must be \"auto\", \"cpu\" or \"cuda\"");
    suite.device = text->get();
  }

  std::vector<std::filesystem::path> plugin_paths;
  if (const toml::node* paths = root.get("plugin_paths")) {
    if (!paths->is_array()) fail_at(*paths, "plugin_paths must be an array of strings");
    for (const auto& path : *paths->as_array()) {
      if (!path.is_string()) fail_at(path, "plugin_paths entries must be strings");
      plugin_paths.push_back(file.parent_path() / path.as_string()->get());
    }
  }
  suite.registry = discover_plugins(plugin_paths, cli_plugin_paths);

  std::vector<int64_t> seeds = {0};
  if (const toml::node* node = root.get("seeds")) {
    if (!node->is_array() || node->as_array()->empty())
      fail_at(*node, "seeds must be a non-empty array of ints");
    seeds.clear();
    for (const auto& seed : *node->as_array()) {
      if (!seed.is_integer() || seed.as_integer()->get() < 0)
        fail_at(seed, "seeds must be ints >= 0");
      seeds.push_back(seed.as_integer()->get());
    }
  }

  static const toml::table empty;
  auto optional_table = [&](const char* key) -> const toml::table& {
    const toml::node* node = root.get(key);
    return node ? table_at(*node, std::string("[") + key + "]") : empty;
  };
  const toml::table& train_table = optional_table("train");
  const toml::table& eval_table = optional_table("eval");
  const toml::table* tasks = root.get("tasks") ? &table_at(*root.get("tasks"), "[tasks]") : nullptr;
  const toml::node* architectures = root.get("architectures");
  if (!architectures || !architectures->is_table() || architectures->as_table()->empty())
    throw InputError(file.string() +
                     ": the suite names no architecture; add one, e.g.\n  [architectures.nope]\n"
                     "  component = \"transformer\"\n  positional = \"nope\"");

  const Params train_params = read_params(train_table, train_schema(), "[train]");
  const Params eval_params = read_params(eval_table, eval_schema(), "[eval]");

  for (const auto& [name, node] : in_file_order(*architectures->as_table())) {
    const toml::table& table = table_at(*node, "[architectures." + name + "]");
    const std::string component = component_of(name, table);
    const toml::node& asked = table.get("component") ? *table.get("component") : *node;
    const auto& spec = at_node(asked, [&]() -> const ArchitectureComponent& {
      return suite.registry.architecture(component);
    });
    ComponentChoice architecture = read_choice("architecture", name, table, spec.schema, component);

    const toml::node* overrides = table.get("train");
    const Params train = overrides ? read_params(table_at(*overrides, "train"),
                                                 with_defaults(train_schema(), train_params),
                                                 "[architectures." + name + ".train]")
                                   : train_params;
    TaskInfo task = resolve_task(train, tasks, suite.registry);
    const TrainSettings train_settings = read_train(train, *task.task);
    const EvalSettings eval_settings = read_eval(eval_params, *task.task, train_settings);
    // Build the model once now, so that a parameter its factory rejects fails before any run.
    suite.registry.make_model(component, architecture.params, task.task->vocabulary().size());

    for (int64_t seed : seeds) {
      Run run{"",
              name + "/" + task.choice.name + "/seed" + std::to_string(seed),
              architecture,
              task.choice,
              train_settings,
              eval_settings,
              seed,
              nlohmann::json::object()};
      run.config = {
          {"architecture",
           {{"name", name}, {"component", component}, {"params", to_json(architecture.params)}}},
          {"task",
           {{"name", task.choice.name},
            {"component", task.choice.component},
            {"params", to_json(task.choice.params)}}},
          {"train", train_settings},
          {"eval", eval_settings},
          {"seed", seed},
      };
      run.id = hash_hex(run.config.dump());
      suite.runs.push_back(std::move(run));
    }
  }
  return suite;
}

}  // namespace parrot
