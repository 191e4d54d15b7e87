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

const ProfileLine& line_named(const StepProfileSummary& summary, const std::string& name) {
  for (const auto& line : summary.lines)
    if (line.name == name) return line;
  throw std::runtime_error("no line " + name);
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

}  // namespace
}  // namespace parrot
