// Tests of the CUDA selective scan on the device: its output and all six gradients against the
// CPU kernel in double (which selective_scan_test holds to the LibTorch reference within 1e-10),
// for float and bfloat16 inputs, over odd lengths, batches, state sizes and channel counts; and
// its determinism, layouts, streams, empty sizes, errors and dispatch. In a build without the
// CUDA scan, or on a machine without a GPU, every test skips and says why.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "selective_scan.hpp"

#ifdef PARROT_SELECTIVE_SCAN_CUDA

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>
#include <array>
#include <functional>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "kernel_checks.hpp"
#include "selective_scan_cuda.hpp"
#include "selective_scan_cuda_kernel.hpp"

namespace parrot::mamba {
namespace {

struct Inputs {
  torch::Tensor u, delta, A, B, C, D;
  std::vector<torch::Tensor> all() const { return {u, delta, A, B, C, D}; }
};
const char* const kNames[] = {"y", "grad u", "grad delta", "grad A", "grad B", "grad C", "grad D"};

// As in selective_scan_test, ranges of a Mamba layer, with delta_scale driving decays so far
// below zero that exp2 flushes them to zero. In double on the CPU, but u, delta, B and C already
// rounded to `dtype` and A and D to float, so that the reference sees exactly what the kernel
// gets.
Inputs random_inputs(int64_t batch, int64_t channels, int64_t length, int64_t state,
                     torch::ScalarType dtype, double delta_scale = 1) {
  const auto options = torch::TensorOptions().dtype(torch::kDouble);
  const auto rounded = [](const torch::Tensor& t, torch::ScalarType to) {
    return t.to(to).to(torch::kDouble);
  };
  const auto delta =
      torch::nn::functional::softplus(torch::randn({batch, channels, length}, options) - 1);
  return {rounded(torch::randn({batch, channels, length}, options), dtype),
          rounded(delta * delta_scale, dtype),
          rounded(-torch::rand({channels, state}, options) * state - 0.5, torch::kFloat),
          rounded(torch::randn({batch, state, length}, options), dtype),
          rounded(torch::randn({batch, state, length}, options), dtype),
          rounded(torch::randn({channels}, options), torch::kFloat)};
}

// The inputs as the CUDA scan takes them: u, delta, B and C in `dtype`, A and D in float.
Inputs on_device(const Inputs& in, torch::ScalarType dtype) {
  const auto to = [](const torch::Tensor& t, torch::ScalarType type) {
    return t.to(torch::kCUDA, type);
  };
  return {to(in.u, dtype), to(in.delta, dtype), to(in.A, torch::kFloat),
          to(in.B, dtype), to(in.C, dtype),     to(in.D, torch::kFloat)};
}

// The output of scan(inputs), then the gradient of sum(y * weights) with respect to each input,
// as double on the CPU. The weights take y's type and device.
std::vector<torch::Tensor> output_and_gradients(
    const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& scan,
    const std::vector<torch::Tensor>& inputs, const torch::Tensor& weights) {
  std::vector<torch::Tensor> x;
  for (const auto& t : inputs) x.push_back(t.detach().requires_grad_());
  const auto y = scan(x);
  const auto grads =
      torch::autograd::grad({(y * weights.to(y.device(), y.scalar_type())).sum()}, x);
  std::vector<torch::Tensor> result{y.detach().cpu().to(torch::kDouble)};
  for (const auto& g : grads) result.push_back(g.cpu().to(torch::kDouble));
  return result;
}

using Scan = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                               const torch::Tensor&, const torch::Tensor&, const torch::Tensor&);

std::vector<torch::Tensor> output_and_gradients(Scan scan, const Inputs& in,
                                                const torch::Tensor& weights) {
  const auto six = [scan](const std::vector<torch::Tensor>& x) {
    return scan(x[0], x[1], x[2], x[3], x[4], x[5]);
  };
  return output_and_gradients(six, in.all(), weights);
}

using parrot::test::grad_fn_name;
using parrot::test::relative_error;

class SelectiveScanCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here";
  }
};

struct Case {
  int64_t batch, channels, length, state;
  double delta_scale;
};
// A block holds 8 states per lane on 1, 2, 4, 8 or 16 lanes per channel, so 128, 64, 32, 16 or
// 8 channels; the forward walks chunks of 32 steps, the backward of 8. Hence single steps,
// lengths that end mid-chunk, 1000 steps and more, channel counts that leave blocks part empty,
// states that are not a multiple of 8, every lane count, and decays that underflow.
const Case kCases[] = {{1, 1, 1, 1, 1},      {3, 5, 7, 4, 1},      {1, 37, 33, 16, 1},
                       {3, 130, 130, 32, 1}, {1, 33, 1031, 32, 1}, {3, 300, 17, 4, 1},
                       {1, 20, 130, 1, 1},   {2, 9, 33, 20, 1},    {2, 7, 40, 64, 1},
                       {1, 5, 20, 128, 1},   {2, 20, 33, 16, 50},  {3, 70, 1000, 16, 1}};

// Holds every case's output and gradients to the CPU kernel's in double: `tolerance` for those
// computed in float, `rounded_tolerance` for those returned in `dtype` (y and the gradients of u,
// delta, B and C). Prints the largest errors seen.
void expect_matches_cpu(torch::ScalarType dtype, double tolerance, double rounded_tolerance) {
  torch::manual_seed(1);
  std::array<double, 7> worst{};
  for (const auto& [batch, channels, length, state, delta_scale] : kCases) {
    const auto in = random_inputs(batch, channels, length, state, dtype, delta_scale);
    const auto weights = torch::randn_like(in.u).to(dtype).to(torch::kDouble);
    const auto expected = output_and_gradients(selective_scan_cpu, in, weights);
    const auto actual = output_and_gradients(selective_scan_cuda, on_device(in, dtype), weights);
    for (size_t i = 0; i < expected.size(); ++i) {
      ASSERT_EQ(actual[i].sizes(), expected[i].sizes()) << kNames[i];
      const bool rounded = i != 3 && i != 6;  // all but A's and D's gradients
      const double error = relative_error(actual[i], expected[i]);
      worst[i] = std::max(worst[i], error);
      EXPECT_LT(error, rounded ? rounded_tolerance : tolerance)
          << kNames[i] << " at batch " << batch << ", channels " << channels << ", length "
          << length << ", state " << state << ", delta x " << delta_scale;
    }
  }
  std::cout << "largest relative errors (" << dtype << "):";
  for (size_t i = 0; i < worst.size(); ++i) std::cout << " " << kNames[i] << " " << worst[i];
  std::cout << "\n";
}

// Float arithmetic against double: the special-function unit's exp2 is good to about 2^-22 and
// sums run over up to 3000 terms, so 1e-4 of the largest value leaves a wide margin.
TEST_F(SelectiveScanCudaTest, MatchesCpuInFloat) { expect_matches_cpu(torch::kFloat, 1e-4, 1e-4); }

// The inputs are exactly representable, so the only new error is the rounding of the results
// to bfloat16: 2^-9 of a value, at worst 2^-8 (3.9e-3) of the largest one. A's and D's gradients
// stay float.
TEST_F(SelectiveScanCudaTest, MatchesCpuInBFloat16) {
  expect_matches_cpu(torch::kBFloat16, 1e-4, 5e-3);
}

// With many batch rows a block takes several tiles of channels in turn, adding their sums for B
// and C into its own slice: check that the plan does so here, and that the sums are right.
TEST_F(SelectiveScanCudaTest, BlocksTakingSeveralTilesSumCorrectly) {
  const cuda_scan::Sizes sizes{128, 300, 20, 32};
  cuda_scan::BackwardPlan plan{};
  ASSERT_EQ(cuda_scan::plan_backward(sizes, cuda_scan::Dtype::kFloat32, &plan), cudaSuccess);
  EXPECT_GT(plan.tiles_per_group, 1);
  torch::manual_seed(2);
  const auto in =
      random_inputs(sizes.batch, sizes.channels, sizes.length, sizes.state, torch::kFloat);
  const auto weights = torch::randn_like(in.u).to(torch::kFloat).to(torch::kDouble);
  const auto expected = output_and_gradients(selective_scan_cpu, in, weights);
  const auto actual =
      output_and_gradients(selective_scan_cuda, on_device(in, torch::kFloat), weights);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_LT(relative_error(actual[i], expected[i]), 1e-4) << kNames[i];
}

// The forward saves the states the backward starts its chunks from whenever autograd records
// the call: with a single input that needs a gradient, that gradient is still right.
TEST_F(SelectiveScanCudaTest, GivesTheGradientOfAnyOneInputAlone) {
  torch::manual_seed(9);
  const auto in = random_inputs(2, 40, 100, 16, torch::kFloat);
  const auto weights = torch::randn_like(in.u);
  const auto expected = output_and_gradients(selective_scan_cpu, in, weights);
  const auto inputs = on_device(in, torch::kFloat).all();
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto x = inputs;
    x[i] = x[i].detach().requires_grad_();
    const auto y = selective_scan_cuda(x[0], x[1], x[2], x[3], x[4], x[5]);
    const auto grad = torch::autograd::grad({(y * weights.to(y.device())).sum()}, {x[i]})[0];
    EXPECT_LT(relative_error(grad.cpu().to(torch::kDouble), expected[i + 1]), 1e-4)
        << kNames[i + 1];
  }
}

// With dt_bias the kernels make the step sizes softplus(dt + dt_bias) as they load dt. Against
// the CPU kernel on LibTorch's softplus of the same numbers, in double, with dt's and dt_bias's
// gradients; some channels' biases put dt past softplus's linear threshold (20).
TEST_F(SelectiveScanCudaTest, MakesTheStepSizesFromDtAndItsBias) {
  torch::manual_seed(8);
  const auto softplus_scan = [](const std::vector<torch::Tensor>& x) {
    const auto& [u, dt, dt_bias, A, B, C, D] = std::tie(x[0], x[1], x[2], x[3], x[4], x[5], x[6]);
    return u.is_cuda()
               ? selective_scan_softplus_cuda(u, dt, dt_bias, A, B, C, D)
               : selective_scan_cpu(u, torch::softplus(dt + dt_bias.unsqueeze(-1)), A, B, C, D);
  };
  const char* const names[] = {"y",      "grad u", "grad dt", "grad dt_bias",
                               "grad A", "grad B", "grad C",  "grad D"};
  for (const auto dtype : {torch::kFloat, torch::kBFloat16})
    for (const auto& [batch, channels, length, state] : std::vector<std::array<int64_t, 4>>{
             {3, 130, 130, 32}, {1, 33, 1031, 32}, {2, 7, 40, 64}, {3, 300, 17, 4}}) {
      const auto in = random_inputs(batch, channels, length, state, dtype);
      const auto dt = (torch::randn({batch, channels, length}, torch::kDouble) * 2 - 2)
                          .to(dtype)
                          .to(torch::kDouble);
      auto dt_bias = torch::randn({channels}, torch::kDouble).to(torch::kFloat).to(torch::kDouble);
      dt_bias.narrow(0, 0, 1).fill_(30);
      const std::vector<torch::Tensor> cpu{in.u, dt, dt_bias, in.A, in.B, in.C, in.D};
      std::vector<torch::Tensor> cuda;
      for (size_t i = 0; i < cpu.size(); ++i)
        cuda.push_back(
            cpu[i].to(torch::kCUDA, i == 0 || i == 1 || i == 4 || i == 5 ? dtype : torch::kFloat));
      const auto weights = torch::randn_like(in.u).to(dtype).to(torch::kDouble);
      const auto expected = output_and_gradients(softplus_scan, cpu, weights);
      const auto actual = output_and_gradients(softplus_scan, cuda, weights);
      for (size_t i = 0; i < expected.size(); ++i) {
        ASSERT_EQ(actual[i].sizes(), expected[i].sizes()) << names[i];
        // In dtype: y and the gradients of u, dt, B and C (see MatchesCpuInBFloat16).
        const bool rounded = dtype == torch::kBFloat16 && i != 3 && i != 4 && i != 7;
        EXPECT_LT(relative_error(actual[i], expected[i]), rounded ? 5e-3 : 1e-4)
            << names[i] << " in " << dtype << " at batch " << batch << ", channels " << channels
            << ", length " << length << ", state " << state;
      }
    }
}

// No atomics: the same inputs give the same bits.
TEST_F(SelectiveScanCudaTest, GivesTheSameBitsEveryRun) {
  torch::manual_seed(3);
  const auto in = on_device(random_inputs(16, 200, 300, 16, torch::kFloat), torch::kFloat);
  const auto weights = torch::randn_like(in.u);
  const auto first = output_and_gradients(selective_scan_cuda, in, weights);
  const auto second = output_and_gradients(selective_scan_cuda, in, weights);
  for (size_t i = 0; i < first.size(); ++i)
    EXPECT_TRUE(torch::equal(first[i], second[i])) << kNames[i];
}

// Mamba hands B and C over as views of a projection, which the kernels take as they are, and
// gradients arrive in any layout.
TEST_F(SelectiveScanCudaTest, AcceptsNonContiguousTensors) {
  torch::manual_seed(4);
  const auto in = on_device(random_inputs(2, 11, 9, 4, torch::kFloat), torch::kFloat);
  for (const bool projection : {false, true}) {
    Inputs strided = in;
    if (projection) {  // x_proj's output: [batch, dt_rank + 2 state, length], B and C split off
      const auto projected = torch::cat({in.u.narrow(1, 0, 3), in.B, in.C}, 1);
      strided.B = projected.narrow(1, 3, in.B.size(1));
      strided.C = projected.narrow(1, 3 + in.B.size(1), in.C.size(1));
    } else {
      strided.B = in.B.transpose(1, 2).contiguous().transpose(1, 2);
      strided.C = in.C.transpose(1, 2).contiguous().transpose(1, 2);
    }
    strided.u = torch::cat({in.u, in.u}, 2).narrow(2, 0, in.u.size(2));
    ASSERT_FALSE(strided.B.is_contiguous() || strided.C.is_contiguous() ||
                 strided.u.is_contiguous());
    const auto weights = torch::randn({2, 9, 11}, torch::kCUDA).transpose(1, 2);
    const auto expected = output_and_gradients(selective_scan_cuda, in, weights.contiguous());
    const auto actual = output_and_gradients(selective_scan_cuda, strided, weights);
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_TRUE(torch::equal(actual[i], expected[i]))
          << kNames[i] << (projection ? ", B and C views of a projection" : "");
  }
}

// The kernels run on the current stream, not the default one.
TEST_F(SelectiveScanCudaTest, RunsOnTheCurrentStream) {
  torch::manual_seed(5);
  const auto in = on_device(random_inputs(3, 40, 50, 16, torch::kFloat), torch::kFloat);
  const auto weights = torch::randn_like(in.u);
  const auto expected = output_and_gradients(selective_scan_cuda, in, weights);
  const auto stream = c10::cuda::getStreamFromPool();
  ASSERT_NE(stream, c10::cuda::getDefaultCUDAStream());
  const c10::cuda::CUDAStreamGuard on_stream(stream);
  const auto actual = output_and_gradients(selective_scan_cuda, in, weights);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_TRUE(torch::equal(actual[i], expected[i])) << kNames[i];
}

// Empty batches, channels, sequences or states are legal shapes; with no state, y = D u.
TEST_F(SelectiveScanCudaTest, HandlesEmptyDimensions) {
  torch::manual_seed(6);
  for (const auto& [batch, channels, length, state] : std::vector<std::array<int64_t, 4>>{
           {0, 3, 4, 2}, {2, 0, 4, 2}, {2, 3, 0, 2}, {2, 3, 4, 0}}) {
    const auto in = random_inputs(batch, channels, length, state, torch::kFloat);
    const auto weights = torch::ones_like(in.u);
    const auto expected = output_and_gradients(selective_scan_cpu, in, weights);
    const auto actual =
        output_and_gradients(selective_scan_cuda, on_device(in, torch::kFloat), weights);
    for (size_t i = 0; i < expected.size(); ++i) {
      ASSERT_EQ(actual[i].sizes(), expected[i].sizes()) << kNames[i];
      EXPECT_LT(relative_error(actual[i], expected[i]), 1e-6) << kNames[i];
    }
  }
}

TEST_F(SelectiveScanCudaTest, RejectsBadInputs) {
  const auto x = on_device(random_inputs(2, 3, 4, 5, torch::kFloat), torch::kFloat);
  EXPECT_THROW(selective_scan_cuda(x.u.cpu(), x.delta, x.A, x.B, x.C, x.D), c10::Error);
  EXPECT_THROW(selective_scan_cuda(x.u, x.delta.cpu(), x.A, x.B, x.C, x.D), c10::Error);
  EXPECT_THROW(selective_scan_cuda(x.u, x.delta.to(torch::kBFloat16), x.A, x.B, x.C, x.D),
               c10::Error);
  EXPECT_THROW(selective_scan_cuda(x.u.to(torch::kDouble), x.delta, x.A, x.B, x.C, x.D),
               c10::Error);
  EXPECT_THROW(selective_scan_cuda(x.u, x.delta, x.A.to(torch::kDouble), x.B, x.C, x.D),
               c10::Error);
  EXPECT_THROW(selective_scan_cuda(x.u, x.delta, x.A, x.B.transpose(1, 2), x.C, x.D), c10::Error);
  EXPECT_THROW(selective_scan_cuda(x.u, x.delta.narrow(2, 0, 3), x.A, x.B, x.C, x.D), c10::Error);
  const auto dt_bias = torch::randn({3}, torch::kCUDA);
  EXPECT_THROW(
      selective_scan_softplus_cuda(x.u, x.delta, dt_bias.narrow(0, 0, 2), x.A, x.B, x.C, x.D),
      c10::Error);
  EXPECT_THROW(selective_scan_softplus_cuda(x.u, x.delta, dt_bias.cpu(), x.A, x.B, x.C, x.D),
               c10::Error);
  const auto wide =
      on_device(random_inputs(1, 2, 3, cuda_scan::kMaxState + 1, torch::kFloat), torch::kFloat);
  EXPECT_THROW(selective_scan_cuda(wide.u, wide.delta, wide.A, wide.B, wide.C, wide.D), c10::Error);
}

// selective_scan() takes CUDA float and bfloat16 inputs (A and D in either type) to the CUDA
// kernel, and leaves double, or more than kMaxState states, to the reference.
TEST_F(SelectiveScanCudaTest, DispatchPicksTheCudaKernelOnCuda) {
  torch::manual_seed(7);
  const auto run = [](const Inputs& in, torch::ScalarType type, torch::ScalarType A_and_D) {
    const auto leaf = [](const torch::Tensor& t, torch::ScalarType to) {
      return t.to(torch::kCUDA, to).detach().requires_grad_();
    };
    return selective_scan(leaf(in.u, type), leaf(in.delta, type), leaf(in.A, A_and_D),
                          leaf(in.B, type), leaf(in.C, type), leaf(in.D, A_and_D));
  };
  const auto in = random_inputs(2, 3, 4, 5, torch::kFloat);
  for (const auto& [type, A_and_D] :
       std::vector<std::array<torch::ScalarType, 2>>{{torch::kFloat, torch::kFloat},
                                                     {torch::kBFloat16, torch::kFloat},
                                                     {torch::kBFloat16, torch::kBFloat16}}) {
    const auto y = run(in, type, A_and_D);
    EXPECT_NE(grad_fn_name(y).find("SelectiveScanCudaFunction"), std::string::npos)
        << grad_fn_name(y);
    EXPECT_EQ(y.scalar_type(), type);
  }
  const auto y = run(in, torch::kDouble, torch::kDouble);
  EXPECT_EQ(grad_fn_name(y).find("SelectiveScanCudaFunction"), std::string::npos)
      << grad_fn_name(y);
  const auto wide = random_inputs(1, 2, 3, cuda_scan::kMaxState + 1, torch::kFloat);
  const auto y_wide = run(wide, torch::kFloat, torch::kFloat);
  EXPECT_EQ(grad_fn_name(y_wide).find("SelectiveScanCudaFunction"), std::string::npos)
      << grad_fn_name(y_wide);

  // selective_scan_softplus() too, with the step sizes made inside it.
  const auto x = on_device(in, torch::kFloat);
  const auto dt = torch::randn_like(x.delta).requires_grad_();
  const auto dt_bias = torch::randn({3}, torch::kCUDA);
  const auto fused = selective_scan_softplus(x.u, dt, dt_bias, x.A, x.B, x.C, x.D);
  EXPECT_NE(grad_fn_name(fused).find("SelectiveScanCudaFunction"), std::string::npos)
      << grad_fn_name(fused);
  EXPECT_LT(
      relative_error(fused, selective_scan_cuda(x.u, torch::softplus(dt + dt_bias.unsqueeze(-1)),
                                                x.A, x.B, x.C, x.D)),
      1e-5);
}

}  // namespace
}  // namespace parrot::mamba

#else

TEST(SelectiveScanCudaTest, NeedsACudaBuild) {
  GTEST_SKIP() << "parrot was built without the CUDA selective scan, which needs nvcc and a "
                  "LibTorch with CUDA (docs/gpu.md)";
}

#endif
