// Tests of cast_weight's kept casts (parrot/weight_cast.hpp) on the CPU: kept from call to call,
// made again in place when the weight changes or moves, and trusted after the optimizer says it
// wrote them. adam_cuda_test and training_cuda_test hold the CUDA optimizer's writes.

#include <parrot/weight_cast.hpp>

#include "kept_weight_casts.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace parrot {
namespace {

torch::Tensor parameter(std::vector<int64_t> sizes) { return torch::randn(sizes).requires_grad_(); }

// What an autograd function's forward sees: grad mode off.
torch::Tensor cast_in_forward(const torch::Tensor& weight) {
  const torch::NoGradGuard no_grad;
  return cast_weight(weight, torch::kBFloat16);
}

TEST(WeightCast, KeepsAParametersCastFromCallToCall) {
  const auto w = parameter({5, 7});
  const auto first = cast_in_forward(w), second = cast_in_forward(w);
  EXPECT_TRUE(torch::equal(first, w.detach().to(torch::kBFloat16)));
  EXPECT_EQ(first.data_ptr(), second.data_ptr());
  EXPECT_EQ(kept_cast_of(w).data_ptr(), first.data_ptr());
}

TEST(WeightCast, CastsAChangedWeightAgainInTheSameMemory) {
  const auto w = parameter({64});
  const auto before = cast_in_forward(w);
  {
    const torch::NoGradGuard no_grad;
    w.add_(1.0);
  }
  const auto after = cast_in_forward(w);
  EXPECT_EQ(after.data_ptr(), before.data_ptr());
  EXPECT_TRUE(torch::equal(after, w.detach().to(torch::kBFloat16)));
}

TEST(WeightCast, CastsAWeightMovedToOtherMemoryAgain) {
  const auto w = parameter({3, 4});
  cast_in_forward(w);
  w.set_data(torch::randn({3, 4}));  // as Module::to() moves parameters
  EXPECT_TRUE(torch::equal(cast_in_forward(w), w.detach().to(torch::kBFloat16)));
  w.set_data(torch::randn({2, 6}));
  const auto resized = cast_in_forward(w);
  EXPECT_EQ(resized.sizes(), w.sizes());
  EXPECT_TRUE(torch::equal(resized, w.detach().to(torch::kBFloat16)));
}

// The optimizer writes the kept cast with the update and says so; the cast is then used as it
// is, and made again once the weight changes some other way.
TEST(WeightCast, TrustsACastTheOptimizerWrote) {
  const auto w = parameter({16});
  const auto cast = cast_in_forward(w);
  {
    const torch::NoGradGuard no_grad;
    w.mul_(2.0);
    cast.fill_(3.0);  // what an optimizer writing the cast might have left there
  }
  kept_cast_written(w);
  EXPECT_TRUE(torch::equal(cast_in_forward(w), torch::full({16}, 3.0, torch::kBFloat16)));
  {
    const torch::NoGradGuard no_grad;
    w.sub_(1.0);
  }
  EXPECT_TRUE(torch::equal(cast_in_forward(w), w.detach().to(torch::kBFloat16)));
}

TEST(WeightCast, ANewWeightNeverGetsAnOldWeightsCast) {
  for (int i = 0; i < 20; ++i) {
    const auto w = parameter({32});
    EXPECT_TRUE(torch::equal(cast_in_forward(w), w.detach().to(torch::kBFloat16)))
        << "weight " << i;
  }
}

TEST(WeightCast, WithGradModeOnTheCastIsDifferentiable) {
  const auto w = parameter({4});
  const auto kept = cast_in_forward(w);
  const auto cast = cast_weight(w, torch::kBFloat16);
  EXPECT_TRUE(cast.requires_grad());
  EXPECT_NE(cast.data_ptr(), kept.data_ptr());
  cast.to(torch::kFloat).sum().backward();
  EXPECT_TRUE(torch::equal(w.grad(), torch::ones({4})));
}

TEST(WeightCast, KeepsNoCastOfWhatIsNotTrained) {
  const auto constant = torch::randn({8});
  EXPECT_NE(cast_in_forward(constant).data_ptr(), cast_in_forward(constant).data_ptr());
  EXPECT_FALSE(kept_cast_of(constant).defined());
  const auto w = parameter({8});
  const torch::NoGradGuard no_grad;
  EXPECT_TRUE(cast_weight(w, torch::kFloat).is_same(w));  // no cast at all
}

}  // namespace
}  // namespace parrot
