// `suite bench`: the training step of a suite's runs, timed. Each run trains as `suite run`
// would (same model, optimizer, precision, data thread and step), for a few warm-up steps and
// then a timed stretch; nothing is evaluated or written to the results folder.
#pragma once

#include "registry.hpp"
#include "step_profile.hpp"
#include "suite.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace parrot {

// Rows x tokens of a training step, written "8x220".
struct StepShape {
  int64_t batch_size;
  int64_t context_length;
};
StepShape parse_step_shape(const std::string& text);  // InputError unless "<rows>x<tokens>"

struct BenchSettings {
  int64_t warmup_steps = 5;  // untimed; a CUDA graph is captured during these
  int64_t steps = 20;        // timed
  bool cuda_graph = true;
  // Where to write a trace of a few more steps under LibTorch's profiler, after the timed
  // ones (the profiler slows the steps it records); empty for none.
  std::filesystem::path profile_trace;
};

struct BenchResult {
  int64_t parameters;
  std::string mode;  // how the step ran: TrainingStep::mode()
  double step_ms;
  double tokens_per_second;
  std::optional<int64_t> peak_memory_bytes;   // CUDA only
  std::optional<StepProfileSummary> profile;  // with a profile_trace
};

BenchResult bench_run(const Run& run, const Registry& registry, const torch::Device& device,
                      const BenchSettings& settings);

}  // namespace parrot
