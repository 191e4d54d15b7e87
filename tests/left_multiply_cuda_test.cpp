// Tests of the CUDA products behind Mamba's narrow projections on the device: the product against
// the CPU in double, for float and bfloat16, at the paper's shapes (sums split over blocks) and at
// ones a single slice takes, odd and empty sizes and other layouts; the same bits on every run;
// left_multiply()'s gradients on CUDA against the CPU; errors and dispatch. In a build without
// the kernel, or on a machine without a GPU, every test skips and says why.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "left_multiply.hpp"

#ifdef PARROT_LEFT_MULTIPLY_CUDA

#include <vector>

#include <parrot/cuda_dtype_of.hpp>

#include "kernel_checks.hpp"
#include "left_multiply_cuda.hpp"
#include "left_multiply_cuda_kernel.hpp"

namespace parrot::mamba {
namespace {

using parrot::test::relative_error;

struct Shape {
  int64_t batch, rows, depth, columns;
};

// The weight [rows, depth] and x [batch, depth, columns], already rounded to `type`, in double
// on the CPU.
std::pair<torch::Tensor, torch::Tensor> random_problem(const Shape& s,
                                                       torch::ScalarType type = torch::kFloat) {
  torch::manual_seed(s.rows * 1000 + s.depth + s.columns);
  const auto rounded = [type](const torch::Tensor& t) { return t.to(type).to(torch::kDouble); };
  return {rounded(torch::randn({s.rows, s.depth}, torch::kDouble)),
          rounded(torch::randn({s.batch, s.depth, s.columns}, torch::kDouble))};
}

torch::Tensor expected_product(const torch::Tensor& weight, const torch::Tensor& x) {
  return torch::einsum("rk,bkc->brc", {weight, x});
}

torch::Tensor on_gpu(const torch::Tensor& t, torch::ScalarType type = torch::kFloat) {
  return t.to(torch::kCUDA, type);
}

// The product's largest error, relative to its largest value: sums in float, and in bfloat16 the
// result rounded to 8 bits.
double tolerance(torch::ScalarType type) { return type == torch::kBFloat16 ? 4e-3 : 1e-5; }

const torch::ScalarType kTypes[] = {torch::kFloat, torch::kBFloat16};

class LeftMultiplyCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here";
  }
};

// The kernels against the CPU in double on the same (rounded) numbers: sums of up to 2048
// products in float.
TEST_F(LeftMultiplyCudaTest, MatchesCpu) {
  // x_proj's forward and dt_proj's input gradient at the paper's 8 x 220 and at 64 x 512, a tile
  // (64) and a stage (16 in float, 32 in bfloat16) exceeded by one, odd sizes, single rows,
  // columns and depths.
  for (const auto type : kTypes) {
    bool split = false, whole = false;
    for (const Shape& s : std::vector<Shape>{{8, 128, 2048, 220},
                                             {8, 64, 2048, 220},
                                             {64, 128, 2048, 512},
                                             {3, 65, 17, 129},
                                             {2, 5, 100, 70},
                                             {2, 33, 2049, 9},
                                             {1, 7, 1000, 3},
                                             {1, 1, 1, 1}}) {
      const auto [weight, x] = random_problem(s, type);
      const auto w = on_gpu(weight, type), v = on_gpu(x, type);
      cuda_product::Plan plan{};
      ASSERT_EQ(cuda_product::plan({s.batch, s.rows, s.depth, s.columns}, parrot::cuda::dtype_of(v),
                                   &plan),
                cudaSuccess);
      (plan.slices > 1 ? split : whole) = true;
      const auto actual = left_multiply_cuda(w, v);
      ASSERT_EQ(actual.sizes(), torch::IntArrayRef({s.batch, s.rows, s.columns}));
      EXPECT_EQ(actual.scalar_type(), type);
      EXPECT_TRUE(actual.is_contiguous());
      EXPECT_LT(relative_error(actual, expected_product(weight, x)), tolerance(type))
          << type << ", batch " << s.batch << ", rows " << s.rows << ", depth " << s.depth
          << ", columns " << s.columns << ", " << plan.slices << " slices of " << plan.slice_depth;
    }
    EXPECT_TRUE(split) << "no shape split its sum in " << type;
    EXPECT_TRUE(whole) << "every shape split its sum in " << type;
  }
}

// The slices are added in a fixed order, without atomics.
TEST_F(LeftMultiplyCudaTest, GivesTheSameBitsOnEveryRun) {
  for (const auto type : kTypes) {
    const auto [weight, x] = random_problem({8, 128, 2048, 220}, type);
    const auto w = on_gpu(weight, type), v = on_gpu(x, type);
    const auto first = left_multiply_cuda(w, v);
    for (int run = 0; run < 3; ++run)
      EXPECT_TRUE(torch::equal(left_multiply_cuda(w, v), first)) << type;
  }
}

// A transposed weight (dt_proj's, in its input gradient) and a strided x (a split of x_proj's
// output).
TEST_F(LeftMultiplyCudaTest, TakesAnyLayout) {
  for (const auto type : kTypes) {
    const auto [weight, x] = random_problem({3, 40, 300, 50}, type);
    const auto weight_t = on_gpu(weight.t().contiguous(), type).t();
    const auto x_wide = on_gpu(torch::cat({x, x}, 1), type).narrow(1, 300, 300);
    ASSERT_FALSE(weight_t.is_contiguous());
    ASSERT_FALSE(x_wide.is_contiguous());
    EXPECT_LT(relative_error(left_multiply_cuda(weight_t, x_wide), expected_product(weight, x)),
              tolerance(type))
        << type;
  }
}

// left_multiply() through the kernels: x_proj's shape takes them forward, dt_proj's in x's
// gradient. In bfloat16 the weight's gradient (cuBLAS's batched product, then a sum over batch
// rows) is rounded twice.
TEST_F(LeftMultiplyCudaTest, GradientsMatchCpu) {
  for (const auto type : kTypes)
    for (const Shape& s : std::vector<Shape>{{3, 16, 256, 37}, {3, 256, 16, 37}}) {
      const auto [weight, x] = random_problem(s, type);
      const auto gout =
          torch::randn({s.batch, s.rows, s.columns}, torch::kDouble).to(type).to(torch::kDouble);
      const auto run = [&](const torch::Tensor& w, const torch::Tensor& v, const torch::Tensor& g) {
        const auto w_leaf = w.detach().requires_grad_(), v_leaf = v.detach().requires_grad_();
        const auto out = left_multiply(w_leaf, v_leaf);
        const auto gradients = torch::autograd::grad({out}, {w_leaf, v_leaf}, {g});
        return std::vector<torch::Tensor>{out, gradients[0], gradients[1]};
      };
      const auto expected = run(weight, x, gout);
      const auto actual = run(on_gpu(weight, type), on_gpu(x, type), on_gpu(gout, type));
      const char* names[] = {"out", "weight's gradient", "x's gradient"};
      for (int i = 0; i < 3; ++i)
        EXPECT_LT(relative_error(actual[i], expected[i]), type == torch::kBFloat16 ? 1e-2 : 1e-5)
            << names[i] << " in " << type << " at rows " << s.rows << ", depth " << s.depth;
    }
}

TEST_F(LeftMultiplyCudaTest, EmptySizesGiveEmptyOrZeroProducts) {
  for (const Shape& s :
       std::vector<Shape>{{0, 4, 8, 5}, {2, 0, 8, 5}, {2, 4, 8, 0}, {2, 4, 0, 5}}) {
    const auto weight = torch::randn({s.rows, s.depth}, torch::kCUDA);
    const auto x = torch::randn({s.batch, s.depth, s.columns}, torch::kCUDA);
    const auto out = left_multiply_cuda(weight, x);
    EXPECT_EQ(out.sizes(), torch::IntArrayRef({s.batch, s.rows, s.columns}));
    if (out.numel() > 0) EXPECT_EQ(out.abs().max().item<float>(), 0.0f);
  }
}

TEST_F(LeftMultiplyCudaTest, RejectsBadInputs) {
  const auto weight = torch::randn({4, 8}, torch::kCUDA);
  const auto x = torch::randn({2, 8, 5}, torch::kCUDA);
  EXPECT_THROW(left_multiply_cuda(weight[0], x), c10::Error);
  EXPECT_THROW(left_multiply_cuda(weight, x[0]), c10::Error);
  EXPECT_THROW(left_multiply_cuda(weight, x.narrow(1, 0, 7)), c10::Error);
  EXPECT_THROW(left_multiply_cuda(weight.cpu(), x.cpu()), c10::Error);
  EXPECT_THROW(left_multiply_cuda(weight.cpu(), x), c10::Error);
  EXPECT_THROW(left_multiply_cuda(weight.to(torch::kDouble), x.to(torch::kDouble)), c10::Error);
  EXPECT_THROW(left_multiply_cuda(weight, x.to(torch::kBFloat16)), c10::Error);
  EXPECT_THROW(left_multiply_cuda(weight.to(torch::kHalf), x.to(torch::kHalf)), c10::Error);
}

// The kernels take long sums into few rows of few tiles, in float or bfloat16; cuBLAS the rest.
TEST_F(LeftMultiplyCudaTest, AppliesToNarrowProductsOfFewTiles) {
  const auto x = torch::randn({2, 64, 5}, torch::kCUDA);
  const auto narrow = torch::randn({16, 64}, torch::kCUDA);
  EXPECT_TRUE(left_multiply_cuda_applies(narrow, x));
  EXPECT_TRUE(left_multiply_cuda_applies(narrow.to(torch::kBFloat16), x.to(torch::kBFloat16)));
  EXPECT_FALSE(left_multiply_cuda_applies(torch::randn({17, 64}, torch::kCUDA), x));
  EXPECT_FALSE(left_multiply_cuda_applies(narrow, x.to(torch::kBFloat16)));
  EXPECT_FALSE(left_multiply_cuda_applies(narrow.to(torch::kHalf), x.to(torch::kHalf)));
  EXPECT_FALSE(left_multiply_cuda_applies(narrow.cpu(), x.cpu()));
  // x_proj's forward at the paper's 8 x 220, and at 64 x 512, whose 1024 tiles of 64 x 64 are
  // more than an H100 or H200 (132 SMs) runs at once.
  const auto x_proj = torch::randn({128, 2048}, torch::kCUDA);
  EXPECT_TRUE(left_multiply_cuda_applies(x_proj, torch::randn({8, 2048, 220}, torch::kCUDA)));
  EXPECT_FALSE(left_multiply_cuda_applies(x_proj, torch::randn({64, 2048, 512}, torch::kCUDA)));
}

}  // namespace
}  // namespace parrot::mamba

#else

TEST(LeftMultiplyCudaTest, NeedsACudaBuild) {
  GTEST_SKIP() << "parrot was built without the CUDA narrow-projection product, which needs nvcc "
                  "and a LibTorch with CUDA (docs/gpu.md)";
}

#endif
