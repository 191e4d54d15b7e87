// Tests of the CUDA head split with RoPE on the device: queries, keys and values and the
// projection's gradient against split_heads() on the CPU (views and apply_rotary), for float and
// bfloat16, over odd lengths, head counts, head sizes, rotated fractions and empty sizes; and its
// layouts, errors and dispatch. In a build without the kernel, or on a machine without a GPU,
// every test skips and says why.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "qkv_heads.hpp"

#ifdef PARROT_ROTARY_CUDA

#include <array>
#include <string>
#include <vector>

#include "kernel_checks.hpp"
#include "rotary_cuda.hpp"

namespace parrot::transformer {
namespace {

using parrot::test::grad_fn_name;
using parrot::test::relative_error;

struct Shape {
  int64_t batch, length, heads, head_dim, rotary_dims;
};

RotaryTables tables_for(const Shape& s, torch::Device device) {
  return rotary_tables(s.rotary_dims, s.head_dim, 10000.0, s.length, device);
}

// Queries, keys, values and the projection's gradient for upstream gradients `upstream`.
std::array<torch::Tensor, 4> heads_and_gradient(const torch::Tensor& projected, const Shape& s,
                                                const std::array<torch::Tensor, 3>& upstream) {
  const auto leaf = projected.detach().requires_grad_();
  const auto heads = split_heads(leaf, s.heads, tables_for(s, projected.device()));
  const auto gradient = torch::autograd::grad({heads.query, heads.key, heads.value}, {leaf},
                                              {upstream[0], upstream[1], upstream[2]})[0];
  return {heads.query, heads.key, heads.value, gradient};
}

constexpr const char* kNames[] = {"query", "key", "value", "gradient"};

class RotaryCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here";
  }

  // The CUDA kernel in `type` against the CPU path in float on the same (rounded) numbers.
  static void expect_matches_cpu(torch::ScalarType type, double tolerance) {
    // Rows of a position's 3 * heads * head_dim narrower and wider than a block's 128 threads
    // take; head sizes 2 to 128, odd ones (one element at a time) and ones that take 2, 4 and 8
    // elements a load; a quarter, half or all of a head rotated; queries and keys wider than the
    // 48 KiB of shared memory a block gets without asking; one position; empty batches and
    // sequences.
    for (const Shape& s : std::vector<Shape>{{2, 9, 4, 6, 2},
                                             {2, 3, 3, 5, 4},
                                             {1, 2, 64, 128, 32},
                                             {3, 1, 1, 2, 2},
                                             {1, 37, 16, 64, 16},
                                             {2, 5, 3, 8, 8},
                                             {2, 300, 2, 10, 4},
                                             {1, 4, 12, 32, 8},
                                             {0, 4, 2, 4, 2},
                                             {2, 0, 2, 4, 2}}) {
      torch::manual_seed(s.length * 100 + s.head_dim);
      const auto projected =
          torch::randn({s.batch, s.length, 3 * s.heads * s.head_dim}).to(type).to(torch::kFloat);
      std::array<torch::Tensor, 3> upstream;
      for (auto& gradient : upstream)
        gradient =
            torch::randn({s.batch, s.heads, s.length, s.head_dim}).to(type).to(torch::kFloat);
      const auto expected = heads_and_gradient(projected, s, upstream);
      std::array<torch::Tensor, 3> upstream_on_device;
      for (int i = 0; i < 3; ++i) upstream_on_device[i] = upstream[i].to(torch::kCUDA, type);
      const auto actual =
          heads_and_gradient(projected.to(torch::kCUDA, type), s, upstream_on_device);
      for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(actual[i].sizes(), expected[i].sizes()) << kNames[i];
        EXPECT_EQ(actual[i].scalar_type(), type) << kNames[i];
        EXPECT_LT(relative_error(actual[i], expected[i]), tolerance)
            << kNames[i] << " at batch " << s.batch << ", length " << s.length << ", heads "
            << s.heads << ", head_dim " << s.head_dim << ", rotary_dims " << s.rotary_dims;
      }
    }
  }
};

TEST_F(RotaryCudaTest, MatchesCpuInFloat) { expect_matches_cpu(torch::kFloat, 1e-6); }

// One rounding of a float result to bfloat16: at most half of its 2^-7 spacing.
TEST_F(RotaryCudaTest, MatchesCpuInBFloat16) { expect_matches_cpu(torch::kBFloat16, 8e-3); }

// The projection may arrive as any view, and attention's gradients come in any layout with
// head_dim contiguous (or not at all).
TEST_F(RotaryCudaTest, AcceptsAnyLayout) {
  torch::manual_seed(5);
  const Shape s{2, 7, 4, 8, 4};
  const auto projected = torch::randn({s.batch, s.length, 3 * s.heads * s.head_dim}, torch::kCUDA);
  std::array<torch::Tensor, 3> upstream, strided;
  for (auto& gradient : upstream)
    gradient = torch::randn({s.batch, s.heads, s.length, s.head_dim}, torch::kCUDA);
  strided[0] = upstream[0].transpose(1, 2).contiguous().transpose(1, 2);
  strided[1] = upstream[1].transpose(2, 3).contiguous().transpose(2, 3);
  // One element off a 16-byte boundary: the kernel then reads one element at a time.
  strided[2] = torch::cat({upstream[2].narrow(3, 0, 1), upstream[2]}, 3).narrow(3, 1, s.head_dim);
  const auto strided_projected = projected.transpose(0, 1).contiguous().transpose(0, 1);
  ASSERT_FALSE(strided[0].is_contiguous() || strided[1].is_contiguous() ||
               strided[2].is_contiguous() || strided_projected.is_contiguous());
  const auto expected = heads_and_gradient(projected, s, upstream);
  const auto actual = heads_and_gradient(strided_projected, s, strided);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(torch::equal(actual[i], expected[i])) << kNames[i];
}

TEST_F(RotaryCudaTest, RejectsBadInputs) {
  const Shape s{2, 5, 2, 8, 4};
  const auto projected = torch::randn({s.batch, s.length, 3 * s.heads * s.head_dim}, torch::kCUDA);
  const auto tables = tables_for(s, torch::kCUDA);
  EXPECT_THROW(split_heads_rotated_cuda(projected.narrow(2, 0, 40), s.heads, tables), c10::Error);
  EXPECT_THROW(split_heads_rotated_cuda(projected.narrow(1, 0, 4), s.heads, tables), c10::Error);
  EXPECT_THROW(split_heads_rotated_cuda(projected, s.heads, tables_for(s, torch::kCPU)),
               c10::Error);
  EXPECT_THROW(split_heads_rotated_cuda(projected.flatten(0, 1), s.heads, tables), c10::Error);
}

// split_heads() takes CUDA float and bfloat16 projections that RoPE rotates to the kernel, and
// leaves double, and schemes without a rotation, to views.
TEST_F(RotaryCudaTest, DispatchPicksTheKernelForRopeOnCuda) {
  const Shape s{1, 3, 2, 4, 2};
  const auto heads = [&](torch::ScalarType type, bool rotates) {
    const auto projected = torch::randn({s.batch, s.length, 3 * s.heads * s.head_dim},
                                        torch::TensorOptions(torch::kCUDA).dtype(type))
                               .requires_grad_();
    return split_heads(projected, s.heads, rotates ? tables_for(s, torch::kCUDA) : RotaryTables{});
  };
  for (const auto type : {torch::kFloat, torch::kBFloat16}) {
    const auto query = heads(type, true).query;
    EXPECT_NE(grad_fn_name(query).find("RotateHeadsFunction"), std::string::npos)
        << grad_fn_name(query);
    EXPECT_EQ(grad_fn_name(heads(type, false).query).find("RotateHeadsFunction"),
              std::string::npos);
  }
  EXPECT_EQ(grad_fn_name(heads(torch::kDouble, true).query).find("RotateHeadsFunction"),
            std::string::npos);
}

}  // namespace
}  // namespace parrot::transformer

#else

TEST(RotaryCudaTest, NeedsACudaBuild) {
  GTEST_SKIP() << "parrot was built without the CUDA RoPE kernel, which needs nvcc and a "
                  "LibTorch with CUDA (docs/gpu.md)";
}

#endif
