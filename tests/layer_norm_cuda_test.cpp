// Tests of the CUDA layer norm on the device: the result and the gradients of x, weight and bias
// against LibTorch's layer norm on the CPU in double, for float and bfloat16 inputs and results,
// odd widths (one element a load) and ones that take four, empty batches; the same bits every
// run; autocast's type; errors; and dispatch. In a build without the kernels, or on a machine
// without a GPU, every test skips and says why.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "layer_norm.hpp"

#ifdef PARROT_LAYER_NORM_CUDA

#include <array>
#include <string>
#include <utility>
#include <vector>

#include <parrot/autocast.hpp>

#include "kernel_checks.hpp"
#include "layer_norm_cuda.hpp"

namespace parrot::transformer {
namespace {

using parrot::test::grad_fn_name;
using parrot::test::relative_error;

// y and the gradients of x, weight and bias for the upstream gradient gy: the kernels with the
// result in y_type on CUDA, the LayerNorm module on the CPU.
std::array<torch::Tensor, 4> norm_and_gradients(const torch::nn::LayerNorm& norm,
                                                const torch::Tensor& x, const torch::Tensor& gy,
                                                torch::ScalarType y_type = torch::kFloat) {
  const auto leaf = x.detach().requires_grad_();
  const auto y = x.is_cuda()
                     ? layer_norm_cuda(leaf, norm->weight, norm->bias, norm->options.eps(), y_type)
                     : norm.ptr()->forward(leaf);
  const auto grads = torch::autograd::grad({y}, {leaf, norm->weight, norm->bias}, {gy});
  return {y, grads[0], grads[1], grads[2]};
}

torch::nn::LayerNorm random_norm(int64_t width) {
  torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({width}));
  torch::NoGradGuard no_grad;
  norm->weight.normal_(1.0, 0.5);
  norm->bias.normal_(0.0, 0.5);
  return norm;
}

constexpr const char* kNames[] = {"y", "x's gradient", "weight's gradient", "bias's gradient"};

class LayerNormCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here";
  }
};

// x in x_type, the result in y_type; the CPU in double on the same rounded numbers, its result
// rounded to y_type as the kernel's is.
void expect_matches_cpu(torch::ScalarType x_type, torch::ScalarType y_type, double tolerance) {
  // Widths: odd ones (one element a load), ones that take four a load, the paper's 1024, the
  // widest (backward's shared memory past the 48 KiB a block gets without asking). Batches:
  // empty, fewer rows than a block's warps, more rows than backward has blocks. (Rows of one or
  // two are left out: their normalized values are 0 or +-1 whatever x is, so x's gradient, and for
  // one the weight's, is zero but for rounding, which a relative error cannot judge.)
  struct Shape {
    int64_t rows, width;
  };
  for (const Shape& s : std::vector<Shape>{
           {3, 5}, {7, 3}, {33, 64}, {5, 1001}, {130, 1024}, {4500, 32}, {2, 4096}, {0, 8}}) {
    torch::manual_seed(s.rows * 31 + s.width);
    auto norm = random_norm(s.width);
    // An offset mean, so that a one-pass variance would lose digits.
    const auto x = (torch::randn({s.rows, s.width}) * 3 + 5).to(x_type).to(torch::kFloat);
    const auto gy = torch::randn({s.rows, s.width}).to(y_type).to(torch::kFloat);
    norm->to(torch::kDouble);
    auto expected = norm_and_gradients(norm, x.to(torch::kDouble), gy.to(torch::kDouble));
    expected[0] = expected[0].to(y_type);
    norm->to(torch::kCUDA, torch::kFloat);
    const auto actual =
        norm_and_gradients(norm, x.to(torch::kCUDA, x_type), gy.to(torch::kCUDA, y_type), y_type);
    const torch::ScalarType types[] = {y_type, x_type, torch::kFloat, torch::kFloat};
    for (int i = 0; i < 4; ++i) {
      ASSERT_EQ(actual[i].sizes(), expected[i].sizes()) << kNames[i];
      EXPECT_EQ(actual[i].scalar_type(), types[i]) << kNames[i];
      EXPECT_LT(relative_error(actual[i], expected[i]), tolerance)
          << kNames[i] << " at " << s.rows << " x " << s.width << ", x " << x_type << ", y "
          << y_type;
    }
  }
}

TEST_F(LayerNormCudaTest, MatchesCpuInFloat) {
  expect_matches_cpu(torch::kFloat, torch::kFloat, 2e-5);
}

// What runs under bf16 autocast. One rounding of a result to bfloat16 is at most half of its
// 2^-7 spacing; the gradients sum gy rounded to bfloat16, as the CPU's do.
TEST_F(LayerNormCudaTest, MatchesCpuFromFloatToBFloat16) {
  expect_matches_cpu(torch::kFloat, torch::kBFloat16, 8e-3);
}

TEST_F(LayerNormCudaTest, MatchesCpuInBFloat16) {
  expect_matches_cpu(torch::kBFloat16, torch::kBFloat16, 8e-3);
}

TEST_F(LayerNormCudaTest, GivesTheSameBitsEveryRun) {
  torch::manual_seed(3);
  auto norm = random_norm(1024);
  norm->to(torch::kCUDA);
  const auto x = torch::randn({3000, 1024}, torch::kCUDA);
  const auto gy = torch::randn({3000, 1024}, torch::kCUDA);
  const auto first = norm_and_gradients(norm, x, gy);
  const auto second = norm_and_gradients(norm, x, gy);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(torch::equal(first[i], second[i])) << kNames[i];
}

// x may come as any view.
TEST_F(LayerNormCudaTest, AcceptsAnyLayout) {
  torch::manual_seed(4);
  auto norm = random_norm(64);
  norm->to(torch::kCUDA);
  const auto x = torch::randn({4, 9, 64}, torch::kCUDA);
  const auto gy = torch::randn({4, 9, 64}, torch::kCUDA);
  const auto strided = x.transpose(0, 1).contiguous().transpose(0, 1);
  ASSERT_FALSE(strided.is_contiguous());
  const auto expected = norm_and_gradients(norm, x, gy);
  const auto actual =
      norm_and_gradients(norm, strided, gy.transpose(0, 1).contiguous().transpose(0, 1));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(torch::equal(actual[i], expected[i])) << kNames[i];
}

TEST_F(LayerNormCudaTest, RejectsBadInputs) {
  auto norm = random_norm(8);
  norm->to(torch::kCUDA);
  const auto x = torch::randn({3, 8}, torch::kCUDA);
  const auto& w = norm->weight;
  const auto& b = norm->bias;
  EXPECT_THROW(layer_norm_cuda(x.cpu(), w, b, 1e-5, torch::kFloat), c10::Error);
  EXPECT_THROW(layer_norm_cuda(x.to(torch::kDouble), w, b, 1e-5, torch::kFloat), c10::Error);
  EXPECT_THROW(layer_norm_cuda(x, w.narrow(0, 0, 4), b, 1e-5, torch::kFloat), c10::Error);
  EXPECT_THROW(layer_norm_cuda(x, w, b.cpu(), 1e-5, torch::kFloat), c10::Error);
  EXPECT_THROW(layer_norm_cuda(x, w, b, 1e-5, torch::kHalf), c10::Error);
  EXPECT_THROW(
      layer_norm_cuda(torch::randn({2, 5000}, torch::kCUDA), torch::ones({5000}, torch::kCUDA),
                      torch::zeros({5000}, torch::kCUDA), 1e-5, torch::kFloat),
      c10::Error);
}

// layer_norm() takes CUDA float and bfloat16 inputs under bf16 autocast to the kernels, whose
// result is then bfloat16, and leaves everything else to the LayerNorm module: no autocast (where
// it is as fast), double, CPU tensors and rows wider than the kernels take.
TEST_F(LayerNormCudaTest, DispatchPicksTheKernelsUnderAutocastOnCuda) {
  const auto made_by = [](int64_t width, torch::Device device, torch::ScalarType type,
                          bool autocast) {
    auto norm = random_norm(width);
    norm->to(device, type == torch::kDouble ? torch::kDouble : torch::kFloat);
    const auto x =
        torch::randn({2, width}, torch::TensorOptions(device).dtype(type)).requires_grad_();
    const AutocastGuard guard(c10::DeviceType::CUDA, {autocast, torch::kBFloat16});
    const auto y = layer_norm(norm, x);
    return std::make_pair(grad_fn_name(y), y.scalar_type());
  };
  for (const auto type : {torch::kFloat, torch::kBFloat16}) {
    const auto [name, y_type] = made_by(16, torch::kCUDA, type, true);
    EXPECT_NE(name.find("LayerNormFunction"), std::string::npos) << name;
    EXPECT_EQ(y_type, torch::kBFloat16);
  }
  EXPECT_EQ(made_by(16, torch::kCUDA, torch::kFloat, false).first.find("LayerNormFunction"),
            std::string::npos);
  EXPECT_EQ(made_by(16, torch::kCUDA, torch::kDouble, true).first.find("LayerNormFunction"),
            std::string::npos);
  EXPECT_EQ(made_by(16, torch::kCPU, torch::kFloat, true).first.find("LayerNormFunction"),
            std::string::npos);
  EXPECT_EQ(made_by(5000, torch::kCUDA, torch::kFloat, true).first.find("LayerNormFunction"),
            std::string::npos);
}

}  // namespace
}  // namespace parrot::transformer

#else

TEST(LayerNormCudaTest, NeedsACudaBuild) {
  GTEST_SKIP() << "parrot was built without the CUDA layer norm, which needs nvcc and a LibTorch "
                  "with CUDA (docs/gpu.md)";
}

#endif
