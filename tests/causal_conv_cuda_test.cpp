// Tests of the CUDA causal convolution with SiLU on the device: u and the gradients of x, the
// filter and the bias against causal_conv_silu() on the CPU (which mamba_test holds to its
// formula), for float and bfloat16, over odd lengths, channel counts and widths, x as the
// in-projection's half and empty sizes; and its determinism, errors and dispatch. In a build
// without the kernel, or on a machine without a GPU, every test skips and says why.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "causal_conv.hpp"

#ifdef PARROT_CAUSAL_CONV_CUDA

#include <array>
#include <string>
#include <vector>

#include "causal_conv_cuda.hpp"
#include "kernel_checks.hpp"

namespace parrot::mamba {
namespace {

using parrot::test::grad_fn_name;
using parrot::test::relative_error;

struct Shape {
  int64_t batch, length, channels, width;
};

constexpr const char* kNames[] = {"u", "grad x", "grad weight", "grad bias"};

// u and the gradients of x, weight and bias for the upstream gradient `gu`. x is the first half
// of a [batch, length, 2 channels] projection, as in the Mamba block.
std::array<torch::Tensor, 4> conv_and_gradients(const torch::Tensor& projection,
                                                const torch::Tensor& weight,
                                                const torch::Tensor& bias,
                                                const torch::Tensor& gu) {
  const auto leaves = std::array<torch::Tensor, 3>{projection.detach().requires_grad_(),
                                                   weight.detach().requires_grad_(),
                                                   bias.detach().requires_grad_()};
  const auto u = causal_conv_silu(leaves[0].chunk(2, -1)[0], leaves[1], leaves[2]);
  const auto gradients = torch::autograd::grad({u}, {leaves[0], leaves[1], leaves[2]}, {gu});
  const int64_t channels = weight.size(0);
  return {u, gradients[0].narrow(2, 0, channels), gradients[1], gradients[2]};
}

struct Problem {
  torch::Tensor projection, weight, bias, gu;
};

// Inputs already rounded to `type` (the filter stays float), in double on the CPU.
Problem random_problem(const Shape& s, torch::ScalarType type) {
  const auto rounded = [type](const torch::Tensor& t) { return t.to(type).to(torch::kDouble); };
  return {
      rounded(torch::randn({s.batch, s.length, 2 * s.channels}, torch::kDouble)),
      torch::randn({s.channels, 1, s.width}, torch::kDouble).to(torch::kFloat).to(torch::kDouble),
      torch::randn({s.channels}, torch::kDouble).to(torch::kFloat).to(torch::kDouble),
      rounded(torch::randn({s.batch, s.channels, s.length}, torch::kDouble))};
}

class CausalConvCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here";
  }

  // The kernel with x in `type` against the CPU in double on the same (rounded) numbers.
  static void expect_matches_cpu(torch::ScalarType type, double tolerance) {
    // A block takes 64 channels and 32 positions at a time, in pairs where lengths and channel
    // counts are even: counts below, at and past those, in pairs and not, sequences shorter than
    // the filter, every width, one position, one channel. Small batches give every tile of
    // positions a block of its own; the last shape's 2048 columns of blocks split its sequence
    // in two segments of two tiles, the second one cut short.
    for (const Shape& s : std::vector<Shape>{{2, 37, 70, 4},
                                             {3, 64, 32, 1},
                                             {2, 100, 70, 4},
                                             {1, 130, 130, 8},
                                             {1, 100, 33, 8},
                                             {2, 3, 5, 6},
                                             {1, 1, 1, 2},
                                             {4, 31, 64, 3},
                                             {2, 45, 40, 5},
                                             {1, 70, 9, 7},
                                             {64, 100, 2048, 4}}) {
      torch::manual_seed(s.length * 100 + s.channels + s.width);
      const Problem p = random_problem(s, type);
      const auto expected = conv_and_gradients(p.projection, p.weight, p.bias, p.gu);
      const auto on_device = [](const torch::Tensor& t, torch::ScalarType to) {
        return t.to(torch::kCUDA, to);
      };
      const auto actual =
          conv_and_gradients(on_device(p.projection, type), on_device(p.weight, torch::kFloat),
                             on_device(p.bias, torch::kFloat), on_device(p.gu, type));
      for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(actual[i].sizes(), expected[i].sizes()) << kNames[i];
        EXPECT_EQ(actual[i].scalar_type(), i < 2 ? type : torch::kFloat) << kNames[i];
        EXPECT_LT(relative_error(actual[i], expected[i]), tolerance)
            << kNames[i] << " at batch " << s.batch << ", length " << s.length << ", channels "
            << s.channels << ", width " << s.width;
      }
    }
  }
};

TEST_F(CausalConvCudaTest, MatchesCpuInFloat) { expect_matches_cpu(torch::kFloat, 1e-5); }

// u and x's gradient are rounded once to bfloat16 (at most half of its 2^-7 spacing); the
// filter's gradients add up float products of bfloat16 numbers.
TEST_F(CausalConvCudaTest, MatchesCpuInBFloat16) { expect_matches_cpu(torch::kBFloat16, 8e-3); }

// The filter's gradients are per-row partial sums added in a fixed order.
TEST_F(CausalConvCudaTest, GivesTheSameBitsEveryRun) {
  torch::manual_seed(2);
  const Problem p = random_problem({4, 200, 96, 4}, torch::kFloat);
  const auto run = [&] {
    return conv_and_gradients(
        p.projection.to(torch::kCUDA, torch::kFloat), p.weight.to(torch::kCUDA, torch::kFloat),
        p.bias.to(torch::kCUDA, torch::kFloat), p.gu.to(torch::kCUDA, torch::kFloat));
  };
  const auto first = run(), second = run();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(torch::equal(first[i], second[i])) << kNames[i];
}

// Without a bias, and with a contiguous x, one whose positions are not neighbours in memory, one
// whose channels are not, and one that starts an element past a pair's alignment (the kernels
// then take single elements).
TEST_F(CausalConvCudaTest, TakesAnyLayoutAndNoBias) {
  torch::manual_seed(3);
  const auto x = torch::randn({2, 20, 12}, torch::kCUDA);
  const auto weight = torch::randn({12, 1, 4}, torch::kCUDA);
  const auto expected = causal_conv_silu(x.cpu(), weight.cpu(), {});
  EXPECT_LT(relative_error(causal_conv_silu_cuda(x, weight, {}), expected), 1e-6);
  const auto strided = x.transpose(0, 1).contiguous().transpose(0, 1);
  ASSERT_FALSE(strided.is_contiguous());
  EXPECT_LT(relative_error(causal_conv_silu_cuda(strided, weight, {}), expected), 1e-6);
  const auto channels_apart = torch::cat({x, x}, 2).view({2, 20, 12, 2}).select(3, 0);
  const auto off_pair = torch::cat({x, x.narrow(2, 0, 2)}, 2).narrow(2, 1, 12);
  for (const auto& other : {channels_apart, off_pair})
    EXPECT_LT(relative_error(causal_conv_silu_cuda(other, weight, {}),
                             causal_conv_silu(other.cpu(), weight.cpu(), {})),
              1e-6);

  const auto leaf = x.detach().requires_grad_();
  const auto weight_leaf = weight.detach().requires_grad_();
  causal_conv_silu_cuda(leaf, weight_leaf, {}).sum().backward();
  const auto cpu_leaf = x.cpu().requires_grad_();
  const auto cpu_weight = weight.cpu().requires_grad_();
  causal_conv_silu(cpu_leaf, cpu_weight, {}).sum().backward();
  EXPECT_LT(relative_error(leaf.grad(), cpu_leaf.grad()), 1e-5);
  EXPECT_LT(relative_error(weight_leaf.grad(), cpu_weight.grad()), 1e-5);
}

TEST_F(CausalConvCudaTest, EmptySizesGiveEmptyOutputsAndZeroGradients) {
  for (const Shape& s : std::vector<Shape>{{0, 5, 4, 4}, {2, 0, 4, 4}, {2, 5, 0, 4}}) {
    const auto x = torch::randn({s.batch, s.length, s.channels}, torch::kCUDA).requires_grad_();
    const auto weight = torch::randn({s.channels, 1, s.width}, torch::kCUDA).requires_grad_();
    const auto bias = torch::randn({s.channels}, torch::kCUDA).requires_grad_();
    const auto u = causal_conv_silu_cuda(x, weight, bias);
    EXPECT_EQ(u.sizes(), torch::IntArrayRef({s.batch, s.channels, s.length}));
    u.sum().backward();
    EXPECT_EQ(x.grad().sizes(), x.sizes());
    EXPECT_TRUE(torch::equal(weight.grad(), torch::zeros_like(weight)));
    EXPECT_TRUE(torch::equal(bias.grad(), torch::zeros_like(bias)));
  }
}

TEST_F(CausalConvCudaTest, RejectsBadInputs) {
  const auto x = torch::randn({2, 5, 4}, torch::kCUDA);
  const auto weight = torch::randn({4, 1, 3}, torch::kCUDA);
  const auto bias = torch::randn({4}, torch::kCUDA);
  EXPECT_THROW(causal_conv_silu_cuda(x.flatten(0, 1), weight, bias), c10::Error);
  EXPECT_THROW(causal_conv_silu_cuda(x, weight.narrow(0, 0, 3), bias), c10::Error);
  EXPECT_THROW(causal_conv_silu_cuda(x, torch::randn({4, 1, 9}, torch::kCUDA), bias), c10::Error);
  EXPECT_THROW(causal_conv_silu_cuda(x, weight, bias.narrow(0, 0, 2)), c10::Error);
  EXPECT_THROW(causal_conv_silu_cuda(x, weight.cpu(), bias), c10::Error);
}

// causal_conv_silu() takes CUDA float and bfloat16 with filters up to 8 wide to the kernel; wider
// filters and doubles go to LibTorch's convolution, with the same numbers.
TEST_F(CausalConvCudaTest, DispatchPicksTheKernelForFloatAndBFloat16) {
  const auto u_for = [](torch::ScalarType type, int64_t width) {
    const auto x =
        torch::randn({1, 6, 4}, torch::TensorOptions(torch::kCUDA).dtype(type)).requires_grad_();
    const auto weight = torch::randn({4, 1, width}, torch::TensorOptions(torch::kCUDA).dtype(type));
    return causal_conv_silu(x, weight, torch::zeros({4}, weight.options()));
  };
  for (const auto type : {torch::kFloat, torch::kBFloat16})
    EXPECT_NE(grad_fn_name(u_for(type, 8)).find("CausalConvSiluFunction"), std::string::npos)
        << grad_fn_name(u_for(type, 8));
  EXPECT_EQ(grad_fn_name(u_for(torch::kFloat, 9)).find("CausalConvSiluFunction"),
            std::string::npos);
  EXPECT_EQ(grad_fn_name(u_for(torch::kDouble, 4)).find("CausalConvSiluFunction"),
            std::string::npos);
}

}  // namespace
}  // namespace parrot::mamba

#else

TEST(CausalConvCudaTest, NeedsACudaBuild) {
  GTEST_SKIP() << "parrot was built without the CUDA causal convolution, which needs nvcc and a "
                  "LibTorch with CUDA (docs/gpu.md)";
}

#endif
