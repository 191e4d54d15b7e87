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

namespace parrot {
namespace {

namespace profiler = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

bool is_device_event(const std::string& category) {
  return category == "kernel" || category == "gpu_memcpy" || category == "gpu_memset";
}

struct Span {
  std::string name;
  double start, duration, self;
};

// Each span's own time: its duration less that of the spans directly inside it. Spans of one
// thread nest (an operator calls operators), so a stack of the open ones finds each parent.
void subtract_children(std::vector<Span>& spans) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.start != b.start ? a.start < b.start : a.duration > b.duration;
  });
  std::vector<size_t> open;
  for (size_t i = 0; i < spans.size(); ++i) {
    while (!open.empty() &&
           spans[open.back()].start + spans[open.back()].duration <= spans[i].start)
      open.pop_back();
    if (!open.empty()) spans[open.back()].self -= spans[i].duration;
    open.push_back(i);
  }
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

  std::map<std::pair<int64_t, int64_t>, std::vector<Span>> by_thread;
  for (const auto& event : events) {
    const std::string category = event.value("cat", "");
    if (summary.device_kernels ? !is_device_event(category) : category != "cpu_op") continue;
    if (!event.contains("dur") || !event.contains("ts")) continue;
    const auto id = [&](const char* key) {
      return event.contains(key) && event[key].is_number() ? event[key].get<int64_t>() : 0;
    };
    const double duration = event["dur"].get<double>();
    by_thread[{id("pid"), id("tid")}].push_back(
        {event.value("name", "?"), event["ts"].get<double>(), duration, duration});
  }

  std::map<std::string, ProfileLine> lines;
  for (auto& [thread, spans] : by_thread) {
    if (!summary.device_kernels) subtract_children(spans);  // device kernels do not nest
    for (const Span& span : spans) {
      ProfileLine& line = lines[span.name];
      line.name = span.name;
      line.calls_per_step += 1.0 / static_cast<double>(steps);
      line.ms_per_step += span.self / 1e3 / static_cast<double>(steps);
    }
  }
  for (auto& [name, line] : lines) {
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
  constexpr size_t kNameWidth = 110;  // kernel names are long templates; the trace has them whole
  for (size_t i = 0; i < std::min(top, summary.lines.size()); ++i) {
    const ProfileLine& entry = summary.lines[i];
    std::snprintf(line, sizeof line, "  %6.1f%%  %8.3f ms  %7.1f x  ",
                  step_ms > 0 ? 100.0 * entry.ms_per_step / step_ms : 0.0, entry.ms_per_step,
                  entry.calls_per_step);
    out << line
        << (entry.name.size() > kNameWidth ? entry.name.substr(0, kNameWidth - 3) + "..."
                                           : entry.name)
        << "\n";
  }
}

}  // namespace parrot
