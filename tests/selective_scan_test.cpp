// Tests of the selective scan: the reference against the recurrence written as scalar loops, the
// CPU kernel's output and gradients against the reference's (for every instruction set the CPU
// runs), finite differences, and dispatch.

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "kernel_checks.hpp"
#include "selective_scan.hpp"
#include "selective_scan_cpu_kernel.hpp"

namespace parrot::mamba {
namespace {

struct Inputs {
  torch::Tensor u, delta, A, B, C, D;
  std::vector<torch::Tensor> all() const { return {u, delta, A, B, C, D}; }
};
const char* const kNames[] = {"u", "delta", "A", "B", "C", "D"};

// Ranges as in a Mamba layer: delta is a softplus (positive, around 0.02 to 2), A is negative
// (Mamba initializes it to -1 ... -state), the rest are of order one. A larger delta_scale
// drives delta * A below -87, where exp leaves float's normal range.
Inputs random_inputs(int64_t batch, int64_t channels, int64_t length, int64_t state,
                     torch::ScalarType dtype, double delta_scale = 1) {
  const auto options = torch::TensorOptions().dtype(dtype);
  return {torch::randn({batch, channels, length}, options),
          torch::nn::functional::softplus(torch::randn({batch, channels, length}, options) - 1) *
              delta_scale,
          -torch::rand({channels, state}, options) * state - 0.5,
          torch::randn({batch, state, length}, options),
          torch::randn({batch, state, length}, options),
          torch::randn({channels}, options)};
}

Inputs requiring_grad(const Inputs& in) {
  return {in.u.detach().requires_grad_(), in.delta.detach().requires_grad_(),
          in.A.detach().requires_grad_(), in.B.detach().requires_grad_(),
          in.C.detach().requires_grad_(), in.D.detach().requires_grad_()};
}

using Scan = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                               const torch::Tensor&, const torch::Tensor&, const torch::Tensor&);

torch::Tensor run(Scan scan, const Inputs& in) {
  return scan(in.u, in.delta, in.A, in.B, in.C, in.D);
}

// The output, then the gradient of sum(y * weights) with respect to each input.
std::vector<torch::Tensor> output_and_gradients(Scan scan, const Inputs& inputs,
                                                const torch::Tensor& weights) {
  const Inputs in = requiring_grad(inputs);
  const auto y = run(scan, in);
  const auto grads = torch::autograd::grad({(y * weights).sum()}, in.all());
  std::vector<torch::Tensor> result{y.detach()};
  result.insert(result.end(), grads.begin(), grads.end());
  return result;
}

using parrot::test::grad_fn_name;
using parrot::test::relative_error;

// h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t, y_t = C_t . h_t + D u_t, one number at a time.
torch::Tensor naive_scan(const Inputs& in) {
  const auto u = in.u.accessor<double, 3>(), delta = in.delta.accessor<double, 3>(),
             B = in.B.accessor<double, 3>(), C = in.C.accessor<double, 3>();
  const auto A = in.A.accessor<double, 2>();
  const auto D = in.D.accessor<double, 1>();
  auto y = torch::zeros_like(in.u);
  auto out = y.accessor<double, 3>();
  for (int64_t b = 0; b < in.u.size(0); ++b)
    for (int64_t d = 0; d < in.u.size(1); ++d) {
      std::vector<double> h(in.A.size(1), 0.0);
      for (int64_t t = 0; t < in.u.size(2); ++t) {
        double sum = D[d] * u[b][d][t];
        for (int64_t n = 0; n < in.A.size(1); ++n) {
          h[n] =
              std::exp(delta[b][d][t] * A[d][n]) * h[n] + delta[b][d][t] * B[b][n][t] * u[b][d][t];
          sum += C[b][n][t] * h[n];
        }
        out[b][d][t] = sum;
      }
    }
  return y;
}

TEST(SelectiveScanTest, ReferenceMatchesTheRecurrence) {
  torch::manual_seed(0);
  const auto in = random_inputs(2, 3, 6, 2, torch::kDouble);
  const auto y = selective_scan_reference(in.u, in.delta, in.A, in.B, in.C, in.D);
  ASSERT_EQ(y.sizes(), in.u.sizes());
  EXPECT_LT(relative_error(y, naive_scan(in)), 1e-14);
}

// Runs selective_scan_cpu on one instruction set's kernels for the scope of a test.
class UsingKernels {
 public:
  explicit UsingKernels(const cpu_scan::Kernels& kernels)
      : trace_(__FILE__, __LINE__, kernels.isa) {
    cpu_scan::use_kernels(kernels);
  }
  ~UsingKernels() { cpu_scan::use_kernels(cpu_scan::supported_kernels().back()); }

 private:
  ::testing::ScopedTrace trace_;
};

struct Case {
  int64_t batch, channels, length, state;
  double delta_scale;
};
// Lengths and channel counts that are not multiples of the kernel's blocks, a single time step,
// a single state, enough channels for a block with unused lanes and for two tasks per row, and
// decays so strong that exp underflows.
const Case kCases[] = {{1, 1, 1, 1, 1},    {3, 5, 7, 4, 1},    {1, 9, 33, 16, 1},
                       {3, 20, 130, 4, 1}, {3, 70, 33, 16, 1}, {1, 8, 130, 1, 1},
                       {2, 20, 33, 16, 50}};

void expect_kernel_matches_reference(torch::ScalarType dtype, double tolerance) {
  for (const auto& kernels : cpu_scan::supported_kernels()) {
    const UsingKernels using_kernels(kernels);
    torch::manual_seed(1);
    for (const auto& [batch, channels, length, state, delta_scale] : kCases) {
      const auto in = random_inputs(batch, channels, length, state, dtype, delta_scale);
      const auto weights = torch::randn_like(in.u);
      const auto fast = output_and_gradients(selective_scan_cpu, in, weights);
      const auto reference = output_and_gradients(selective_scan_reference, in, weights);
      for (size_t i = 0; i < fast.size(); ++i) {
        const std::string what = i == 0 ? "y" : std::string("grad ") + kNames[i - 1];
        ASSERT_EQ(fast[i].sizes(), reference[i].sizes()) << what;
        EXPECT_LT(relative_error(fast[i], reference[i]), tolerance)
            << what << " at batch " << batch << ", channels " << channels << ", length " << length
            << ", state " << state << ", delta x " << delta_scale;
      }
    }
  }
}

TEST(SelectiveScanTest, CpuKernelMatchesReferenceInFloat) {
  expect_kernel_matches_reference(torch::kFloat, 1e-4);
}

TEST(SelectiveScanTest, CpuKernelMatchesReferenceInDouble) {
  expect_kernel_matches_reference(torch::kDouble, 1e-10);
}

// Central differences of sum(y * weights) against the kernel's gradient, element by element.
TEST(SelectiveScanTest, CpuKernelGradientsMatchFiniteDifferences) {
  torch::manual_seed(2);
  const Inputs in = random_inputs(2, 3, 5, 2, torch::kDouble);
  const auto weights = torch::randn_like(in.u);
  const auto loss = [&](const Inputs& x) {
    torch::NoGradGuard no_grad;
    return (run(selective_scan_cpu, x) * weights).sum().item<double>();
  };
  const double eps = 1e-6;
  for (const auto& kernels : cpu_scan::supported_kernels()) {
    const UsingKernels using_kernels(kernels);
    const auto analytic = output_and_gradients(selective_scan_cpu, in, weights);
    for (size_t i = 0; i < 6; ++i) {
      const auto numeric = torch::zeros_like(in.all()[i]);
      for (int64_t k = 0; k < numeric.numel(); ++k) {
        const auto shifted = [&](double by) {
          Inputs x = in;
          torch::Tensor* targets[] = {&x.u, &x.delta, &x.A, &x.B, &x.C, &x.D};
          torch::Tensor& target = *targets[i];
          target = target.clone();
          target.view({-1})[k] += by;
          return loss(x);
        };
        numeric.view({-1})[k] = (shifted(eps) - shifted(-eps)) / (2 * eps);
      }
      EXPECT_LT(relative_error(analytic[i + 1], numeric), 1e-7) << "grad " << kNames[i];
    }
  }
}

// Mamba hands B and C over as views of a projection, and gradients arrive in any layout.
TEST(SelectiveScanTest, CpuKernelAcceptsNonContiguousTensors) {
  torch::manual_seed(3);
  const auto in = random_inputs(2, 11, 9, 4, torch::kDouble);
  Inputs strided = in;
  strided.B = in.B.transpose(1, 2).contiguous().transpose(1, 2);
  strided.C = in.C.transpose(1, 2).contiguous().transpose(1, 2);
  strided.u = torch::cat({in.u, in.u}, 2).narrow(2, 0, in.u.size(2));
  ASSERT_FALSE(strided.B.is_contiguous() || strided.u.is_contiguous());
  const auto weights = torch::randn({2, 9, 11}, torch::kDouble).transpose(1, 2);
  const auto expected = output_and_gradients(selective_scan_cpu, in, weights.contiguous());
  const auto actual = output_and_gradients(selective_scan_cpu, strided, weights);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_TRUE(torch::equal(actual[i], expected[i])) << i;
}

// Each task owns its partial sums, so the thread count changes nothing, not even rounding.
TEST(SelectiveScanTest, CpuKernelGivesTheSameBitsOnAnyNumberOfThreads) {
  torch::manual_seed(4);
  const auto in = random_inputs(3, 130, 20, 8, torch::kFloat);
  const auto weights = torch::randn_like(in.u);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = output_and_gradients(selective_scan_cpu, in, weights);
  at::set_num_threads(std::max(threads, 2));
  const auto many = output_and_gradients(selective_scan_cpu, in, weights);
  at::set_num_threads(threads);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(torch::equal(one[i], many[i])) << i;
}

// Empty batches, channels, sequences or states are legal shapes; with no state, y = D u.
TEST(SelectiveScanTest, CpuKernelHandlesEmptyDimensions) {
  torch::manual_seed(6);
  for (const auto& [batch, channels, length, state] : std::vector<std::array<int64_t, 4>>{
           {0, 3, 4, 2}, {2, 0, 4, 2}, {2, 3, 0, 2}, {2, 3, 4, 0}}) {
    const auto in = random_inputs(batch, channels, length, state, torch::kDouble);
    const auto result = output_and_gradients(selective_scan_cpu, in, torch::ones_like(in.u));
    EXPECT_EQ(result[0].sizes(), in.u.sizes());
    if (state == 0) EXPECT_TRUE(torch::allclose(result[0], in.D.unsqueeze(-1) * in.u));
    for (size_t i = 1; i < result.size(); ++i)
      EXPECT_EQ(result[i].sizes(), in.all()[i - 1].sizes()) << kNames[i - 1];
  }
}

TEST(SelectiveScanTest, CpuKernelRejectsBadInputs) {
  const auto in = random_inputs(2, 3, 4, 5, torch::kFloat);
  EXPECT_THROW(selective_scan_cpu(in.u, in.delta, in.A, in.B.transpose(1, 2), in.C, in.D),
               c10::Error);
  EXPECT_THROW(selective_scan_cpu(in.u, in.delta.narrow(2, 0, 3), in.A, in.B, in.C, in.D),
               c10::Error);
  EXPECT_THROW(selective_scan_cpu(in.u, in.delta, in.A.to(torch::kDouble), in.B, in.C, in.D),
               c10::Error);
  EXPECT_THROW(selective_scan_cpu(in.u.to(torch::kHalf), in.delta, in.A, in.B, in.C, in.D),
               c10::Error);
}

TEST(SelectiveScanTest, DispatchPicksTheCpuKernelOnCpu) {
  torch::manual_seed(5);
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    const Inputs in = requiring_grad(random_inputs(2, 3, 4, 5, dtype));
    const auto y = run(selective_scan, in);
    EXPECT_NE(grad_fn_name(y).find("SelectiveScanFunction"), std::string::npos) << grad_fn_name(y);
    EXPECT_TRUE(torch::equal(y, run(selective_scan_cpu, in)));
  }
  // Mixed types are left to the reference, which promotes them like any LibTorch expression.
  Inputs mixed = requiring_grad(random_inputs(2, 3, 4, 5, torch::kFloat));
  mixed.A = mixed.A.detach().to(torch::kDouble).requires_grad_();
  const auto y = run(selective_scan, mixed);
  EXPECT_EQ(grad_fn_name(y).find("SelectiveScanFunction"), std::string::npos) << grad_fn_name(y);
  EXPECT_EQ(y.scalar_type(), torch::kDouble);
}

// Every build has the portable kernels; on x86-64 the wider ones run where the CPU has them.
TEST(SelectiveScanTest, BaselineKernelsAreAlwaysThere) {
  const auto kernels = cpu_scan::supported_kernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_STREQ(kernels.front().isa, "baseline");
  std::string names;
  for (const auto& k : kernels) names += std::string(names.empty() ? "" : ", ") + k.isa;
  RecordProperty("instruction_sets", names);
}

}  // namespace
}  // namespace parrot::mamba
