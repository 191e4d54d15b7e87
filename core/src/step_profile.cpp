// The profiler is LibTorch's own; summing up reads the trace it saves rather than its event
// objects, whose accessors differ between LibTorch 1.13 and 2.x while the trace format does not.

#include "step_profile.hpp"

#include <parrot/error.hpp>

#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string_view>
#include <utility>

namespace parrot {
namespace {

namespace profiler = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

bool is_device_event(const std::string& category) {
  return category == "kernel" || category == "gpu_memcpy" || category == "gpu_memset";
}

bool is_launch(const std::string& category) {
  return category == "cuda_runtime" || category == "cuda_driver";
}

using ThreadId = std::pair<int64_t, int64_t>;  // pid, tid

struct Span {
  std::string name;
  double start, duration, self;
  int64_t correlation;  // a device event's launch, 0 for none
};

// Spans by start, and an outer span before the spans that start with it.
void sort_by_start(std::vector<Span>& spans) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.start != b.start ? a.start < b.start : a.duration > b.duration;
  });
}

// Each span's own time: its duration less that of the spans directly inside it. Spans of one
// thread nest (an operator calls operators), so a stack of the open ones finds each parent.
void subtract_children(std::vector<Span>& spans) {
  sort_by_start(spans);
  std::vector<size_t> open;
  for (size_t i = 0; i < spans.size(); ++i) {
    while (!open.empty() &&
           spans[open.back()].start + spans[open.back()].duration <= spans[i].start)
      open.pop_back();
    if (!open.empty()) spans[open.back()].self -= spans[i].duration;
    open.push_back(i);
  }
}

constexpr std::string_view kNodePrefix = "autograd::engine::evaluate_function: ";

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// An autograd node's name, with a C++ autograd function's ("torch::autograd::CppNode<ns::F>")
// shortened to F.
std::string node_name(const std::string& node) {
  constexpr std::string_view kCppNode = "torch::autograd::CppNode<";
  if (!starts_with(node, kCppNode) || node.back() != '>') return node;
  const std::string inside = node.substr(kCppNode.size(), node.size() - kCppNode.size() - 1);
  const size_t colons = inside.rfind("::");
  return colons == std::string::npos ? inside : inside.substr(colons + 2);
}

// ProfileLine::launcher from the operators open around a launch, outermost first.
std::string launcher_of(const std::vector<const Span*>& open) {
  std::string node;
  size_t below = 0;  // the first span inside the innermost autograd node
  for (size_t i = 0; i < open.size(); ++i)
    if (starts_with(open[i]->name, kNodePrefix)) {
      node = open[i]->name.substr(kNodePrefix.size());
      below = i + 1;
    }
  for (size_t i = below; i < open.size(); ++i) {
    const std::string& name = open[i]->name;
    if (name == node || starts_with(name, "autograd::")) continue;  // the node's own span
    return node.empty() ? name : node_name(node) + " > " + name;
  }
  return node.empty() ? "" : node_name(node);
}

// The launcher of every launch, by correlation id: `launches` are the runtime calls of each
// thread, (start, correlation), and `operators` the CPU operators of each thread, sorted by start.
std::map<int64_t, std::string> launchers(
    const std::map<ThreadId, std::vector<Span>>& operators,
    std::map<ThreadId, std::vector<std::pair<double, int64_t>>>& launches) {
  std::map<int64_t, std::string> out;
  for (auto& [thread, calls] : launches) {
    const auto found = operators.find(thread);
    if (found == operators.end()) continue;
    const std::vector<Span>& spans = found->second;
    std::sort(calls.begin(), calls.end());
    std::vector<const Span*> open;
    size_t next = 0;
    const auto close_before = [&](double time) {
      while (!open.empty() && open.back()->start + open.back()->duration < time) open.pop_back();
    };
    for (const auto& [start, correlation] : calls) {
      for (; next < spans.size() && spans[next].start <= start; ++next) {
        close_before(spans[next].start);
        open.push_back(&spans[next]);
      }
      close_before(start);
      out[correlation] = launcher_of(open);
    }
  }
  return out;
}

int64_t integer(const nlohmann::json& object, const char* key) {
  return object.contains(key) && object[key].is_number() ? object[key].get<int64_t>() : 0;
}

std::set<ActivityType> activities_for(const torch::Device& device) {
  if (device.is_cuda()) return {ActivityType::CPU, ActivityType::CUDA};
  return {ActivityType::CPU};
}

}  // namespace

StepProfileSummary summarize_trace(const nlohmann::json& trace, int64_t steps) {
  TORCH_CHECK(steps > 0, "a profile sums up at least one step");
  const nlohmann::json empty = nlohmann::json::array();
  const nlohmann::json& events = trace.contains("traceEvents") ? trace["traceEvents"] : empty;

  StepProfileSummary summary{};
  for (const auto& event : events)
    if (is_device_event(event.value("cat", ""))) summary.device_kernels = true;

  // The summed events by thread; with device kernels, also the CPU operators and the runtime
  // calls that tie kernels to them.
  std::map<ThreadId, std::vector<Span>> by_thread, operators;
  std::map<ThreadId, std::vector<std::pair<double, int64_t>>> launches;
  for (const auto& event : events) {
    if (!event.contains("dur") || !event.contains("ts")) continue;
    const std::string category = event.value("cat", "");
    const ThreadId thread{integer(event, "pid"), integer(event, "tid")};
    const double start = event["ts"].get<double>(), duration = event["dur"].get<double>();
    const nlohmann::json& args = event.contains("args") ? event["args"] : empty;
    const int64_t correlation = args.is_object() ? integer(args, "correlation") : 0;
    if (summary.device_kernels && category == "cpu_op")
      operators[thread].push_back({event.value("name", "?"), start, duration, duration, 0});
    if (summary.device_kernels && is_launch(category) && correlation != 0)
      launches[thread].emplace_back(start, correlation);
    if (summary.device_kernels ? !is_device_event(category) : category != "cpu_op") continue;
    by_thread[thread].push_back({event.value("name", "?"), start, duration, duration, correlation});
  }
  for (auto& [thread, spans] : operators) sort_by_start(spans);
  const std::map<int64_t, std::string> launcher = launchers(operators, launches);

  std::map<std::pair<std::string, std::string>, ProfileLine> lines;
  for (auto& [thread, spans] : by_thread) {
    if (!summary.device_kernels) subtract_children(spans);  // device kernels do not nest
    for (const Span& span : spans) {
      const auto found = launcher.find(span.correlation);
      const std::string launched_by = found != launcher.end() ? found->second : "";
      ProfileLine& line = lines[{span.name, launched_by}];
      line.name = span.name;
      line.launcher = launched_by;
      line.calls_per_step += 1.0 / static_cast<double>(steps);
      line.ms_per_step += span.self / 1e3 / static_cast<double>(steps);
    }
  }
  for (auto& [key, line] : lines) {
    summary.busy_ms_per_step += line.ms_per_step;
    summary.lines.push_back(std::move(line));
  }
  std::sort(
      summary.lines.begin(), summary.lines.end(),
      [](const ProfileLine& a, const ProfileLine& b) { return a.ms_per_step > b.ms_per_step; });
  return summary;
}

StepProfiler::StepProfiler(const torch::Device& device) {
  const ProfilerConfig config(ProfilerState::KINETO);
  const auto activities = activities_for(device);
  profiler::prepareProfiler(config, activities);
  profiler::enableProfiler(config, activities);
  running_ = true;
}

StepProfiler::~StepProfiler() {
  if (running_) profiler::disableProfiler();
}

StepProfileSummary StepProfiler::finish(const std::filesystem::path& trace_file, int64_t steps) {
  running_ = false;
  const auto result = profiler::disableProfiler();
  try {
    result->save(trace_file.string());
  } catch (const c10::Error&) {
    throw InputError(
        "--profile: this LibTorch was built without Kineto, its profiler's tracing library, so "
        "it cannot write a trace (Debian's LibTorch has none; PyTorch's wheels have it)");
  }
  std::ifstream in(trace_file);
  if (!in) throw InputError(trace_file.string() + ": the profiler wrote no trace there");
  return summarize_trace(nlohmann::json::parse(in), steps);
}

void print_profile(std::ostream& out, const StepProfileSummary& summary, double step_ms,
                   size_t top) {
  char line[96];
  std::snprintf(line, sizeof line, "  %s: %.2f ms a step of %.2f\n",
                summary.device_kernels ? "device kernels" : "CPU operators, own time",
                summary.busy_ms_per_step, step_ms);
  out << line;
  // Kernel names are long templates, and so are C++ operators' names: the trace has them whole.
  const auto cut = [](const std::string& name, size_t width) {
    return name.size() > width ? name.substr(0, width - 3) + "..." : name;
  };
  for (size_t i = 0; i < std::min(top, summary.lines.size()); ++i) {
    const ProfileLine& entry = summary.lines[i];
    std::snprintf(line, sizeof line, "  %6.1f%%  %8.3f ms  %7.1f x  ",
                  step_ms > 0 ? 100.0 * entry.ms_per_step / step_ms : 0.0, entry.ms_per_step,
                  entry.calls_per_step);
    out << line;
    if (entry.launcher.empty())
      out << cut(entry.name, 110) << "\n";
    else
      out << cut(entry.name, 70) << "  <- " << cut(entry.launcher, 60) << "\n";
  }
}

}  // namespace parrot
