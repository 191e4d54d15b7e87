// Tests of recompute_in_backward: the recomputation computes what the stored pass would have.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <parrot/autocast.hpp>
#include <parrot/recompute.hpp>

#include <vector>

namespace parrot {
namespace {

// Autocast's cache as autograd's own threads have it: on, whatever the training thread set.
class AutocastCacheOn {
 public:
  AutocastCacheOn() : previous_(at::autocast::is_autocast_cache_enabled()) {
    at::autocast::set_autocast_cache_enabled(true);
  }
  ~AutocastCacheOn() {
    at::autocast::clear_cache();  // the cache is shared by all threads
    at::autocast::set_autocast_cache_enabled(previous_);
  }

 private:
  bool previous_;
};

std::vector<torch::Device> devices() {
  std::vector<torch::Device> all{torch::kCPU};
  if (torch::cuda::is_available()) all.emplace_back(torch::kCUDA);
  return all;
}

// A step changes the weights in place, as an optimizer does. The next step's recomputation
// must use them as they are then, not a bf16 cast that autocast's cache kept from before.
// (Debian's LibTorch 1.13 does not cache casts for the CPU; LibTorch 2 and CUDA do.)
TEST(RecomputeTest, EachStepRecomputesWithTheWeightsAsTheyAreNowUnderAutocast) {
  for (const auto& device : devices()) {
    torch::manual_seed(3);
    torch::nn::Linear layer(4, 4);
    layer->to(device);
    const torch::Tensor x = torch::randn({3, 4}, device).requires_grad_(true);
    const AutocastCacheOn cache_on;
    const AutocastGuard autocast(device.type(), {true, torch::kBFloat16});
    for (int step = 0; step < 2; ++step) {
      torch::Tensor stored_grad;
      {
        const AutocastCacheOff no_cache;  // the stored pass, with the weights as they are
        torch::autograd::backward({layer->forward(x).to(torch::kFloat).sum()});
        stored_grad = x.grad().clone();
        x.mutable_grad().zero_();
      }
      torch::autograd::backward({recompute_in_backward(*layer, x).to(torch::kFloat).sum()});
      EXPECT_TRUE(torch::allclose(x.grad(), stored_grad)) << device << ", step " << step;
      x.mutable_grad().zero_();
      torch::NoGradGuard no_grad;
      layer->weight.mul_(-2);
    }
  }
}

}  // namespace
}  // namespace parrot
