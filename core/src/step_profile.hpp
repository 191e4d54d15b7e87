// Where a training step's time goes: LibTorch's profiler (Kineto) records a few steps, writes
// them as a Chrome trace (open it in https://ui.perfetto.dev), and the trace is summed up by
// kernel: on CUDA the device kernels, copies and fills, each with the operator that launched it
// where the trace says; on CPU the operators' own time.
#pragma once

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace parrot {

// One kernel's (or CPU operator's) share of the profiled steps.
struct ProfileLine {
  std::string name;
  double calls_per_step;
  double ms_per_step;  // summed over its calls; for CPU operators, without the operators they call
  // For a kernel, what launched it: the outermost operator around its launch, after the
  // autograd node it ran in where it did ("ToCopyBackward0 > aten::to"; a C++ autograd
  // function by its own name). Empty where the trace ties it to no operator: a CUDA graph's
  // replay, or a launch outside every operator (parrot's own kernels in a forward pass, whose
  // autograd functions open none). One kernel launched by several operators has a line for each.
  std::string launcher;
};

struct StepProfileSummary {
  bool device_kernels;             // true: CUDA kernels, copies, fills; false: CPU operators
  double busy_ms_per_step;         // the sum over every line
  std::vector<ProfileLine> lines;  // most time first
};

// Sums a Chrome trace's events over `steps` steps. Device events ("kernel", "gpu_memcpy",
// "gpu_memset") when the trace has any, each tied through its "correlation" to the runtime call
// that launched it and so to the CPU operators open on that thread then; else CPU operators
// ("cpu_op") by self time, the time not spent in an operator nested inside, so that nothing is
// counted twice.
StepProfileSummary summarize_trace(const nlohmann::json& trace, int64_t steps);

// Records everything LibTorch runs on this thread and on `device` from construction to finish().
class StepProfiler {
 public:
  explicit StepProfiler(const torch::Device& device);
  ~StepProfiler();  // stops a profile that was not finished
  StepProfiler(const StepProfiler&) = delete;
  StepProfiler& operator=(const StepProfiler&) = delete;

  // Stops, writes the trace to `trace_file` and sums it up over `steps` steps.
  StepProfileSummary finish(const std::filesystem::path& trace_file, int64_t steps);

 private:
  bool running_ = false;
};

// The `top` lines with the most time, each with its share of `step_ms`, as an indented table.
void print_profile(std::ostream& out, const StepProfileSummary& summary, double step_ms,
                   size_t top);

}  // namespace parrot
