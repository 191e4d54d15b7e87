// Tests of the CUDA output gate on the device: out and the gradients of y and z against
// silu_gate() on the CPU (which mamba_test holds to its formula), for float and bfloat16, over odd
// lengths and channel counts, z as the in-projection's half, other layouts and empty sizes; and
// its errors, sequences longer than the grid and dispatch. In a build without the kernel, or on a
// machine without a GPU, every test skips and says why.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "silu_gate.hpp"

#ifdef PARROT_SILU_GATE_CUDA

#include <array>
#include <string>
#include <vector>

#include "kernel_checks.hpp"
#include "silu_gate_cuda.hpp"

namespace parrot::mamba {
namespace {

using parrot::test::grad_fn_name;
using parrot::test::relative_error;

struct Shape {
  int64_t batch, length, channels;
};

constexpr const char* kNames[] = {"out", "grad y", "grad z"};

// out and the gradients of y and z for the upstream gradient `gout`. z is the second half of a
// [batch, length, 2 channels] projection, as in the Mamba block.
std::array<torch::Tensor, 3> gate_and_gradients(const torch::Tensor& y,
                                                const torch::Tensor& projection,
                                                const torch::Tensor& gout) {
  const auto leaves = std::array<torch::Tensor, 2>{y.detach().requires_grad_(),
                                                   projection.detach().requires_grad_()};
  const auto out = silu_gate(leaves[0], leaves[1].chunk(2, -1)[1]);
  const auto gradients = torch::autograd::grad({out}, {leaves[0], leaves[1]}, {gout});
  const int64_t channels = y.size(1);
  return {out, gradients[0], gradients[1].narrow(2, channels, channels)};
}

struct Problem {
  torch::Tensor y, projection, gout;
};

// Inputs already rounded to `type`, in double on the CPU.
Problem random_problem(const Shape& s, torch::ScalarType type) {
  const auto rounded = [type](const torch::Tensor& t) { return t.to(type).to(torch::kDouble); };
  return {rounded(torch::randn({s.batch, s.channels, s.length}, torch::kDouble)),
          rounded(torch::randn({s.batch, s.length, 2 * s.channels}, torch::kDouble)),
          rounded(torch::randn({s.batch, s.length, s.channels}, torch::kDouble))};
}

class SiluGateCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here";
  }

  // The kernel in `type` against the CPU in double on the same (rounded) numbers.
  static void expect_matches_cpu(torch::ScalarType type, double tolerance) {
    // A block takes 64 channels and 64 positions, in pairs where lengths and channel counts are
    // even: counts below, at and past those, in pairs and not, one position, one channel.
    for (const Shape& s : std::vector<Shape>{{2, 37, 70},
                                             {3, 64, 32},
                                             {2, 100, 70},
                                             {1, 130, 130},
                                             {1, 1, 1},
                                             {2, 45, 40},
                                             {1, 100, 33},
                                             {4, 31, 64},
                                             {2, 3, 5}}) {
      torch::manual_seed(s.length * 100 + s.channels);
      const Problem p = random_problem(s, type);
      const auto expected = gate_and_gradients(p.y, p.projection, p.gout);
      const auto actual =
          gate_and_gradients(p.y.to(torch::kCUDA, type), p.projection.to(torch::kCUDA, type),
                             p.gout.to(torch::kCUDA, type));
      for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(actual[i].sizes(), expected[i].sizes()) << kNames[i];
        EXPECT_EQ(actual[i].scalar_type(), type) << kNames[i];
        EXPECT_LT(relative_error(actual[i], expected[i]), tolerance)
            << kNames[i] << " at batch " << s.batch << ", length " << s.length << ", channels "
            << s.channels;
      }
      EXPECT_TRUE(actual[0].is_contiguous());
    }
  }
};

TEST_F(SiluGateCudaTest, MatchesCpuInFloat) { expect_matches_cpu(torch::kFloat, 1e-6); }

// out and the gradients are rounded once to bfloat16 (at most half of its 2^-7 spacing).
TEST_F(SiluGateCudaTest, MatchesCpuInBFloat16) { expect_matches_cpu(torch::kBFloat16, 8e-3); }

// A y whose positions are not neighbours in memory; a contiguous z, one whose channels are not,
// and one that starts an element past a pair's alignment (the kernels then take single elements).
TEST_F(SiluGateCudaTest, TakesAnyLayout) {
  torch::manual_seed(3);
  const auto y = torch::randn({2, 20, 12}, torch::kCUDA).transpose(1, 2);
  const auto z = torch::randn({2, 20, 12}, torch::kCUDA);
  const auto channels_apart = torch::cat({z, z}, 2).view({2, 20, 12, 2}).select(3, 0);
  const auto off_pair = torch::randn({2, 20, 14}, torch::kCUDA).narrow(2, 1, 12);
  ASSERT_FALSE(y.is_contiguous());
  for (const auto& gate : {z, channels_apart, off_pair}) {
    const auto y_leaf = y.detach().requires_grad_(), z_leaf = gate.detach().requires_grad_();
    const auto out = silu_gate_cuda(y_leaf, z_leaf);
    (out * out).sum().backward();
    const auto cpu_y = y.cpu().requires_grad_(), cpu_z = gate.cpu().requires_grad_();
    const auto expected = silu_gate(cpu_y, cpu_z);
    (expected * expected).sum().backward();
    EXPECT_LT(relative_error(out, expected), 1e-6);
    EXPECT_LT(relative_error(y_leaf.grad(), cpu_y.grad()), 1e-5);
    EXPECT_LT(relative_error(z_leaf.grad(), cpu_z.grad()), 1e-5);
  }
}

TEST_F(SiluGateCudaTest, EmptySizesGiveEmptyOutputsAndGradients) {
  for (const Shape& s : std::vector<Shape>{{0, 5, 4}, {2, 0, 4}, {2, 5, 0}}) {
    const auto y = torch::randn({s.batch, s.channels, s.length}, torch::kCUDA).requires_grad_();
    const auto z = torch::randn({s.batch, s.length, s.channels}, torch::kCUDA).requires_grad_();
    const auto out = silu_gate_cuda(y, z);
    EXPECT_EQ(out.sizes(), z.sizes());
    out.sum().backward();
    EXPECT_EQ(y.grad().sizes(), y.sizes());
    EXPECT_EQ(z.grad().sizes(), z.sizes());
  }
}

TEST_F(SiluGateCudaTest, RejectsBadInputs) {
  const auto y = torch::randn({2, 4, 5}, torch::kCUDA);
  const auto z = torch::randn({2, 5, 4}, torch::kCUDA);
  EXPECT_THROW(silu_gate_cuda(y.flatten(0, 1), z), c10::Error);
  EXPECT_THROW(silu_gate_cuda(y, z.narrow(2, 0, 3)), c10::Error);
  EXPECT_THROW(silu_gate_cuda(y, z.transpose(1, 2)), c10::Error);  // z in y's layout
  EXPECT_THROW(silu_gate_cuda(y.cpu(), z.cpu()), c10::Error);
  EXPECT_THROW(silu_gate_cuda(y, z.cpu()), c10::Error);
  EXPECT_THROW(silu_gate_cuda(y.to(torch::kDouble), z.to(torch::kDouble)), c10::Error);
  EXPECT_THROW(silu_gate_cuda(y, z.to(torch::kBFloat16)), c10::Error);
}

// The grid's y holds 65535 tiles of 64 positions; blocks take every 65535th tile past that, so
// a longer sequence comes out whole, its last position included (an even length: in pairs).
TEST_F(SiluGateCudaTest, TakesSequencesLongerThanTheGrid) {
  const int64_t length = 65535 * 64 + 6;
  torch::manual_seed(7);
  const Problem p = random_problem({1, length, 2}, torch::kFloat);
  const auto expected = gate_and_gradients(p.y, p.projection, p.gout);
  const auto actual = gate_and_gradients(p.y.to(torch::kCUDA, torch::kFloat),
                                         p.projection.to(torch::kCUDA, torch::kFloat),
                                         p.gout.to(torch::kCUDA, torch::kFloat));
  constexpr int64_t kPositionDim[] = {1, 2, 1};  // out, gy [.., channels, length], gz
  for (int i = 0; i < 3; ++i) {
    EXPECT_LT(relative_error(actual[i], expected[i]), 1e-6) << kNames[i];
    const auto last = [&](const torch::Tensor& t) {
      return t.narrow(kPositionDim[i], length - 1, 1);
    };
    EXPECT_LT(relative_error(last(actual[i]), last(expected[i])), 1e-6)
        << kNames[i] << " at the last position";
  }
}

// silu_gate() takes CUDA float and bfloat16 to the kernel; doubles and mixed types go to
// LibTorch's ops.
TEST_F(SiluGateCudaTest, DispatchPicksTheKernelForFloatAndBFloat16) {
  const auto out_for = [](torch::ScalarType y_type, torch::ScalarType z_type) {
    const auto y =
        torch::randn({1, 4, 6}, torch::TensorOptions(torch::kCUDA).dtype(y_type)).requires_grad_();
    return silu_gate(y, torch::randn({1, 6, 4}, torch::TensorOptions(torch::kCUDA).dtype(z_type)));
  };
  for (const auto type : {torch::kFloat, torch::kBFloat16})
    EXPECT_NE(grad_fn_name(out_for(type, type)).find("SiluGateFunction"), std::string::npos)
        << grad_fn_name(out_for(type, type));
  EXPECT_EQ(grad_fn_name(out_for(torch::kDouble, torch::kDouble)).find("SiluGateFunction"),
            std::string::npos);
  EXPECT_EQ(grad_fn_name(out_for(torch::kFloat, torch::kBFloat16)).find("SiluGateFunction"),
            std::string::npos);
}

}  // namespace
}  // namespace parrot::mamba

#else

TEST(SiluGateCudaTest, NeedsACudaBuild) {
  GTEST_SKIP() << "parrot was built without the CUDA output gate, which needs nvcc and a LibTorch "
                  "with CUDA (docs/gpu.md)";
}

#endif
