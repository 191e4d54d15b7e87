// Tests of parrot::linear under autocast on the device: the same result as autocast's own linear,
// x's gradient in x's type, the weight's and bias's gradients in float and as exact as a float
// product of the cast numbers (autocast's are rounded to bfloat16), and where it dispatches to
// autocast_linear. Without LibTorch 2.8 (mm with out_dtype), or on a machine without a GPU, every
// test skips and says why.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <parrot/linear.hpp>
#include <parrot/torch_version.hpp>

#if PARROT_TORCH_AT_LEAST(2, 8)

#include <parrot/autocast.hpp>

#include <array>

#include "kernel_checks.hpp"

namespace parrot {
namespace {

using parrot::test::grad_fn_name;
using parrot::test::relative_error;

struct Pass {
  torch::Tensor y, gx, gweight, gbias;
};

// Forward and backward of `layer` on x under bfloat16 autocast: through parrot::linear, or
// through autocast's own at::linear.
Pass pass(const torch::nn::Linear& layer, const torch::Tensor& x, const torch::Tensor& gy,
          bool parrots) {
  const auto leaf = x.detach().requires_grad_();
  torch::Tensor y;
  {
    const AutocastGuard autocast(c10::DeviceType::CUDA, {true, torch::kBFloat16});
    const AutocastCacheOff cache_off;
    y = parrots ? linear(layer, leaf) : torch::linear(leaf, layer->weight, layer->bias);
  }
  std::vector<torch::Tensor> inputs = {leaf, layer->weight};
  if (layer->bias.defined()) inputs.push_back(layer->bias);
  const auto grads = torch::autograd::grad({y}, inputs, {gy});
  return {y, grads[0], grads[1], layer->bias.defined() ? grads[2] : torch::Tensor()};
}

torch::nn::Linear cuda_layer(int64_t in, int64_t out, bool bias) {
  torch::nn::Linear layer(torch::nn::LinearOptions(in, out).bias(bias));
  layer->to(torch::kCUDA);
  return layer;
}

class LinearCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here";
    torch::manual_seed(0);
  }
};

TEST_F(LinearCudaTest, SameResultAndInputGradientAsAutocastsLinear) {
  const auto layer = cuda_layer(96, 80, true);
  const auto x = torch::randn({3, 50, 96}, torch::kCUDA);
  const auto gy = torch::randn({3, 50, 80}, torch::dtype(torch::kBFloat16).device(torch::kCUDA));
  const Pass ours = pass(layer, x, gy, true), autocasts = pass(layer, x, gy, false);
  EXPECT_EQ(ours.y.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(ours.y, autocasts.y));
  EXPECT_EQ(ours.gx.scalar_type(), torch::kFloat);
  EXPECT_LT(relative_error(ours.gx, autocasts.gx), 1e-2);
}

// Against the product in double of the numbers both multiply (gy and x in bfloat16).
TEST_F(LinearCudaTest, WeightAndBiasGradientsInFloatFromTheProduct) {
  const auto layer = cuda_layer(96, 80, true);
  const auto x = torch::randn({3, 50, 96}, torch::kCUDA);
  const auto gy = torch::randn({3, 50, 80}, torch::dtype(torch::kBFloat16).device(torch::kCUDA));
  const auto gy_rows = gy.reshape({-1, 80}).to(torch::kDouble);
  const auto x_rows = x.to(torch::kBFloat16).reshape({-1, 96}).to(torch::kDouble);
  const auto gweight = gy_rows.t().mm(x_rows), gbias = gy_rows.sum(0);

  const Pass ours = pass(layer, x, gy, true), autocasts = pass(layer, x, gy, false);
  EXPECT_EQ(ours.gweight.scalar_type(), torch::kFloat);
  EXPECT_EQ(ours.gbias.scalar_type(), torch::kFloat);
  EXPECT_LT(relative_error(ours.gweight, gweight), 1e-5);
  EXPECT_LT(relative_error(ours.gbias, gbias), 1e-5);
  // What this spares: autocast's weight gradient went through bfloat16.
  EXPECT_GT(relative_error(autocasts.gweight, gweight), 1e-4);
}

TEST_F(LinearCudaTest, TwoDimensionalBfloat16InputWithoutBias) {
  const auto layer = cuda_layer(64, 48, false);
  const auto options = torch::dtype(torch::kBFloat16).device(torch::kCUDA);
  const auto x = torch::randn({37, 64}, options), gy = torch::randn({37, 48}, options);
  const Pass ours = pass(layer, x, gy, true), autocasts = pass(layer, x, gy, false);
  EXPECT_TRUE(torch::equal(ours.y, autocasts.y));
  EXPECT_EQ(ours.gx.scalar_type(), torch::kBFloat16);
  EXPECT_LT(relative_error(ours.gx, autocasts.gx), 1e-2);
  EXPECT_LT(relative_error(ours.gweight, gy.to(torch::kDouble).t().mm(x.to(torch::kDouble))), 1e-5);
}

// autocast_linear only where it changes something: CUDA, autocast on, a weight that wants a
// gradient while gradients are recorded.
TEST_F(LinearCudaTest, DispatchesUnderAutocastWithGradientsOnly) {
  auto layer = cuda_layer(16, 8, true);
  const auto x = torch::randn({4, 16}, torch::kCUDA);
  const auto made_by = [&](bool autocast_on, bool grad, const torch::Tensor& input) {
    const AutocastGuard autocast(c10::DeviceType::CUDA, {autocast_on, torch::kBFloat16});
    const torch::AutoGradMode grad_mode(grad);
    return grad_fn_name(linear(layer, input));
  };
  EXPECT_NE(made_by(true, true, x).find("AutocastLinearFunction"), std::string::npos);
  EXPECT_EQ(made_by(false, true, x).find("AutocastLinearFunction"), std::string::npos);
  EXPECT_EQ(made_by(true, false, x), "(none)");
  layer->to(torch::kCPU);
  EXPECT_EQ(made_by(true, true, x.cpu()).find("AutocastLinearFunction"), std::string::npos);
}

}  // namespace
}  // namespace parrot

#else

TEST(LinearCudaTest, NeedsLibTorch2_8) {
  GTEST_SKIP() << "LibTorch " << TORCH_VERSION_MAJOR << "." << TORCH_VERSION_MINOR
               << " has no matrix product into float from bfloat16 (mm with out_dtype, 2.8+): "
                  "parrot::linear is at::linear under autocast";
}

#endif
