// Summing up a profiler trace: what `suite bench --profile` prints below each row.

#include "step_profile.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace parrot {
namespace {

using ::testing::HasSubstr;

nlohmann::json event(const std::string& category, const std::string& name, double start,
                     double duration, int64_t thread = 1) {
  return {{"ph", "X"},     {"cat", category}, {"name", name},   {"pid", 7},
          {"tid", thread}, {"ts", start},     {"dur", duration}};
}

// An event that names its launch, as a kernel and the runtime call that launched it do.
nlohmann::json correlated(const std::string& category, const std::string& name, double start,
                          double duration, int64_t correlation, int64_t thread = 1) {
  nlohmann::json e = event(category, name, start, duration, thread);
  e["args"] = {{"correlation", correlation}};
  return e;
}

const ProfileLine& line_named(const StepProfileSummary& summary, const std::string& name,
                              const std::string& launcher = "") {
  for (const auto& line : summary.lines)
    if (line.name == name && line.launcher == launcher) return line;
  throw std::runtime_error("no line " + name + " launched by '" + launcher + "'");
}

// Two steps of a CPU trace: aten::linear (100 us) calls aten::addmm (70 us), which calls
// aten::copy_ (20 us). Each operator's own time leaves out what it calls, so the three add up to
// the outer one's 100 us and nothing is counted twice.
TEST(SummarizeTrace, CpuOperatorsCountTheirOwnTimeOnce) {
  nlohmann::json events = nlohmann::json::array();
  for (double step_start : {0.0, 1000.0}) {
    events.push_back(event("cpu_op", "aten::linear", step_start, 100));
    events.push_back(event("cpu_op", "aten::addmm", step_start + 10, 70));
    events.push_back(event("cpu_op", "aten::copy_", step_start + 20, 20));
    events.push_back(event("cpu_op", "aten::relu", step_start + 200, 30, /*thread=*/2));
  }
  events.push_back(event("user_annotation", "not an operator", 0, 5000));
  const StepProfileSummary summary = summarize_trace({{"traceEvents", events}}, 2);

  EXPECT_FALSE(summary.device_kernels);
  ASSERT_EQ(summary.lines.size(), 4u);
  EXPECT_DOUBLE_EQ(line_named(summary, "aten::linear").ms_per_step, 0.030);
  EXPECT_DOUBLE_EQ(line_named(summary, "aten::addmm").ms_per_step, 0.050);
  EXPECT_DOUBLE_EQ(line_named(summary, "aten::copy_").ms_per_step, 0.020);
  EXPECT_DOUBLE_EQ(line_named(summary, "aten::relu").ms_per_step, 0.030);
  EXPECT_DOUBLE_EQ(line_named(summary, "aten::relu").calls_per_step, 1.0);
  EXPECT_DOUBLE_EQ(summary.busy_ms_per_step, 0.130);
  EXPECT_EQ(summary.lines.front().name, "aten::addmm");  // most time first
}

// Where the device ran kernels, the summary is theirs: the CPU operators that launched them
// would count the same time again. Copies and fills are device work too.
TEST(SummarizeTrace, DeviceKernelsReplaceCpuOperators) {
  const nlohmann::json events = {
      event("cpu_op", "aten::mm", 0, 500),
      event("kernel", "sm90_xmma_gemm", 10, 40),
      event("kernel", "sm90_xmma_gemm", 60, 40),
      event("kernel", "vectorized_elementwise_kernel", 100, 10),
      event("gpu_memcpy", "Memcpy HtoD (Pinned -> Device)", 120, 5),
      event("gpu_memset", "Memset (Device)", 130, 1),
      event("cuda_runtime", "cudaLaunchKernel", 0, 3),
  };
  const StepProfileSummary summary = summarize_trace({{"traceEvents", events}}, 1);

  EXPECT_TRUE(summary.device_kernels);
  ASSERT_EQ(summary.lines.size(), 4u);
  EXPECT_EQ(summary.lines[0].name, "sm90_xmma_gemm");
  EXPECT_DOUBLE_EQ(summary.lines[0].calls_per_step, 2.0);
  EXPECT_DOUBLE_EQ(summary.lines[0].ms_per_step, 0.080);
  EXPECT_DOUBLE_EQ(summary.busy_ms_per_step, 0.096);
}

// Each kernel is tied through its correlation id to the runtime call that launched it, and so to
// the operators open on that thread then: the outermost, after the autograd node it ran in. A
// kernel launched by two operators gets a line for each; a launch outside every operator (a CUDA
// graph's replay, parrot's own kernels) and a kernel without a correlation get none.
TEST(SummarizeTrace, KernelsNameTheOperatorThatLaunchedThem) {
  const std::string scan_node =
      "torch::autograd::CppNode<parrot::mamba::(anonymous namespace)::SelectiveScanCudaFunction>";
  const nlohmann::json events = {
      // Forward, thread 1: a copy under aten::contiguous, and a launch after it has closed.
      event("cpu_op", "aten::contiguous", 0, 50),
      event("cpu_op", "aten::clone", 2, 45),
      event("cpu_op", "aten::copy_", 5, 40),
      correlated("cuda_runtime", "cudaLaunchKernel", 10, 3, 1),
      correlated("cuda_runtime", "cudaLaunchKernel", 60, 1, 6),
      // Backward, thread 2: a cast's backward, then a C++ autograd function's.
      event("cpu_op", "autograd::engine::evaluate_function: ToCopyBackward0", 200, 60, 2),
      event("cpu_op", "ToCopyBackward0", 201, 58, 2),
      event("cpu_op", "aten::to", 202, 50, 2),
      event("cpu_op", "aten::copy_", 205, 40, 2),
      correlated("cuda_runtime", "cudaLaunchKernel", 210, 3, 2, 2),
      event("cpu_op", "autograd::engine::evaluate_function: " + scan_node, 400, 100, 2),
      event("cpu_op", scan_node, 401, 98, 2),
      correlated("cuda_runtime", "cudaLaunchKernel", 410, 2, 3, 2),
      event("cpu_op", "aten::sum", 450, 20, 2),
      correlated("cuda_runtime", "cudaLaunchKernel", 455, 2, 4, 2),
      correlated("cuda_runtime", "cudaGraphLaunch", 590, 1, 5),
      // The device's stream.
      correlated("kernel", "direct_copy", 100, 8, 1, 9),
      correlated("kernel", "k6", 110, 1, 6, 9),
      correlated("kernel", "direct_copy", 300, 6, 2, 9),
      correlated("kernel", "backward_kernel", 500, 50, 3, 9),
      correlated("kernel", "reduce_kernel", 560, 5, 4, 9),
      correlated("kernel", "gemm", 600, 10, 5, 9),
      event("kernel", "gemm", 620, 10, 9),
  };
  const StepProfileSummary summary = summarize_trace({{"traceEvents", events}}, 1);

  ASSERT_EQ(summary.lines.size(), 6u);
  EXPECT_DOUBLE_EQ(line_named(summary, "direct_copy", "aten::contiguous").ms_per_step, 0.008);
  EXPECT_DOUBLE_EQ(line_named(summary, "direct_copy", "ToCopyBackward0 > aten::to").ms_per_step,
                   0.006);
  EXPECT_DOUBLE_EQ(line_named(summary, "backward_kernel", "SelectiveScanCudaFunction").ms_per_step,
                   0.050);
  EXPECT_DOUBLE_EQ(
      line_named(summary, "reduce_kernel", "SelectiveScanCudaFunction > aten::sum").ms_per_step,
      0.005);
  EXPECT_DOUBLE_EQ(line_named(summary, "gemm").calls_per_step, 2.0);
  EXPECT_DOUBLE_EQ(line_named(summary, "k6").ms_per_step, 0.001);
  EXPECT_DOUBLE_EQ(summary.busy_ms_per_step, 0.090);
}

TEST(SummarizeTrace, AnEmptyTraceHasNoLines) {
  const StepProfileSummary summary = summarize_trace(nlohmann::json::object(), 3);
  EXPECT_TRUE(summary.lines.empty());
  EXPECT_EQ(summary.busy_ms_per_step, 0.0);
}

TEST(PrintProfile, ListsTheTopLinesWithTheirShareOfTheStep) {
  const StepProfileSummary summary{
      true, 3.0, {{"gemm", 24, 2.0}, {"layer_norm", 48, 0.75}, {"gelu", 12, 0.25}}};
  std::ostringstream out;
  print_profile(out, summary, 4.0, 2);
  EXPECT_THAT(out.str(), HasSubstr("device kernels: 3.00 ms a step of 4.00"));
  EXPECT_THAT(out.str(), HasSubstr("50.0%     2.000 ms     24.0 x  gemm"));
  EXPECT_THAT(out.str(), HasSubstr("18.8%     0.750 ms     48.0 x  layer_norm"));
  EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("gelu")));
}

TEST(PrintProfile, NamesWhatLaunchedAKernelWhereTheTraceSays) {
  const StepProfileSummary summary{
      true, 1.0, {{"direct_copy", 3, 0.6, "ToCopyBackward0 > aten::to"}, {"gemm", 1, 0.4}}};
  std::ostringstream out;
  print_profile(out, summary, 2.0, 2);
  EXPECT_THAT(out.str(), HasSubstr("3.0 x  direct_copy  <- ToCopyBackward0 > aten::to\n"));
  EXPECT_THAT(out.str(), HasSubstr("1.0 x  gemm\n"));
}

}  // namespace
}  // namespace parrot
