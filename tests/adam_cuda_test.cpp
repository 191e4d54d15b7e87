// Tests of parrot's CUDA Adam and AdamW update on the device against LibTorch's optimizers on the
// CPU, over several steps with a learning rate that changes: weight decay both ways, tensors of
// sizes that fill a block, part of one and several, more tensors than a launch takes, tensors off
// 16-byte boundaries, the clipping divisor, the parameters' bfloat16 casts, and bad inputs. In a
// build without the kernel, or on a machine without a GPU, every test skips and says why.

#include <gtest/gtest.h>
#include <torch/torch.h>

#ifdef PARROT_ADAM_CUDA

#include "adam_cuda.hpp"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace parrot {
namespace {

constexpr double kBeta1 = 0.9, kBeta2 = 0.98, kEps = 1e-8;
constexpr int kSteps = 5;

double learning_rate_at(int step) { return 1e-2 * (1 + step); }

// kSteps of Adam (AdamW where decoupled) on the parameters `initial` (CPU, float) with the
// gradients gradient(step, i): LibTorch's optimizer on copies on the CPU, and the kernel on
// `params`, CUDA tensors with the same values. Every gradient the kernel reads is divided by
// `divisor` where there is one, and so is the CPU's. The CPU's parameters are returned; where
// `last_grads` is given, it gets the last step's gradients as drawn and as the kernel left them.
// `casts`, if any, are the parameters' bfloat16 casts for the kernel to write.
std::vector<torch::Tensor> train_both(
    const std::vector<torch::Tensor>& initial, std::vector<torch::Tensor>& params, bool decoupled,
    double weight_decay, std::optional<double> divisor = {},
    std::vector<std::pair<torch::Tensor, torch::Tensor>>* last_grads = nullptr,
    const std::vector<torch::Tensor>& casts = {}) {
  std::vector<torch::Tensor> cpu;
  for (const auto& p : initial) cpu.push_back(p.clone().requires_grad_());
  std::unique_ptr<torch::optim::Optimizer> reference;
  if (decoupled)
    reference = std::make_unique<torch::optim::AdamW>(cpu, torch::optim::AdamWOptions(1.0)
                                                               .betas({kBeta1, kBeta2})
                                                               .eps(kEps)
                                                               .weight_decay(weight_decay));
  else
    reference = std::make_unique<torch::optim::Adam>(cpu, torch::optim::AdamOptions(1.0)
                                                              .betas({kBeta1, kBeta2})
                                                              .eps(kEps)
                                                              .weight_decay(weight_decay));

  const auto on_device = params.front().options().dtype(torch::kFloat);
  std::vector<torch::Tensor> exp_avgs, exp_avg_sqs, steps, drawn, grads;
  for (const auto& p : params) {
    exp_avgs.push_back(torch::zeros(p.sizes(), on_device));
    exp_avg_sqs.push_back(torch::zeros(p.sizes(), on_device));
    steps.push_back(torch::zeros({}, on_device));
  }
  const auto learning_rate = torch::zeros({}, on_device);
  const std::optional<torch::Tensor> device_divisor =
      divisor ? std::optional(torch::full({}, *divisor, on_device)) : std::nullopt;

  torch::manual_seed(7);
  for (int step = 0; step < kSteps; ++step) {
    drawn.clear();
    grads.clear();
    for (size_t i = 0; i < cpu.size(); ++i) {
      const auto g = torch::randn(cpu[i].sizes());
      cpu[i].mutable_grad() = divisor ? g / *divisor : g;
      drawn.push_back(g);
      grads.push_back(g.to(on_device));
    }
    for (auto& group : reference->param_groups()) group.options().set_lr(learning_rate_at(step));
    reference->step();

    learning_rate.fill_(learning_rate_at(step));
    for (auto& s : steps) s.add_(1);
    adam_cuda_update(params, grads, exp_avgs, exp_avg_sqs, casts, steps, learning_rate,
                     device_divisor, {kBeta1, kBeta2, kEps, weight_decay, decoupled});
  }
  if (last_grads)
    for (size_t i = 0; i < grads.size(); ++i) last_grads->emplace_back(drawn[i], grads[i].cpu());
  for (auto& p : cpu) p = p.detach();
  return cpu;
}

std::vector<torch::Tensor> random_params(const std::vector<int64_t>& sizes) {
  std::vector<torch::Tensor> params;
  for (const int64_t n : sizes) params.push_back(torch::randn({n}));
  return params;
}

std::vector<torch::Tensor> to_cuda(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.to(torch::kCUDA));
  return out;
}

void expect_same_params(const std::vector<torch::Tensor>& expected,
                        const std::vector<torch::Tensor>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_TRUE(torch::allclose(actual[i].cpu(), expected[i], 1e-5, 1e-6))
        << "parameter " << i << " of " << expected[i].numel() << " elements: largest difference "
        << (actual[i].cpu() - expected[i]).abs().max().item<double>();
}

// One element, a part of a block, a block, a block and one, and several.
const std::vector<int64_t> kSizes = {1, 3, 4096, 4097, 12289, 100003};

class AdamCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here";
  }
};

TEST_F(AdamCudaTest, AdamWStepsAsLibTorchsDoes) {
  const auto initial = random_params(kSizes);
  auto params = to_cuda(initial);
  expect_same_params(train_both(initial, params, true, 0.1), params);
}

TEST_F(AdamCudaTest, AdamStepsAsLibTorchsDoesWithTheDecayInTheGradient) {
  const auto initial = random_params(kSizes);
  auto params = to_cuda(initial);
  expect_same_params(train_both(initial, params, false, 0.1), params);
}

// 150 tensors take three launches; a wrong tensor for a block would show in any of them.
TEST_F(AdamCudaTest, MoreTensorsThanALaunchTakes) {
  std::vector<int64_t> sizes;
  for (int i = 0; i < 150; ++i) sizes.push_back(1 + (i * 977) % 9000);
  const auto initial = random_params(sizes);
  auto params = to_cuda(initial);
  expect_same_params(train_both(initial, params, true, 0.05), params);
}

// The divisor divides what the update reads; the gradients are left as they were.
TEST_F(AdamCudaTest, TheDivisorDividesTheGradientsAsRead) {
  const auto initial = random_params(kSizes);
  auto params = to_cuda(initial);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> grads;
  expect_same_params(train_both(initial, params, true, 0.1, 7.0, &grads), params);
  ASSERT_EQ(grads.size(), kSizes.size());
  for (size_t i = 0; i < grads.size(); ++i)
    EXPECT_TRUE(torch::equal(grads[i].first, grads[i].second)) << "gradient " << i << " changed";
}

// Each cast gets its parameter after the update, to the bit as a cast makes it, whether the
// block's elements go four at a time or one (a cast off 8-byte boundaries, a tensor's last
// block); a parameter without a cast is updated all the same. Every tensor the kernel wrote
// has a new version, as after an in-place operation.
TEST_F(AdamCudaTest, WritesTheCastsWithTheUpdate) {
  const std::vector<int64_t> sizes = {3, 4096, 12289, 8192, 5000};
  const auto initial = random_params(sizes);
  auto params = to_cuda(initial);
  const auto bf16 = torch::TensorOptions(torch::kCUDA).dtype(torch::kBFloat16);
  const auto shifted = torch::zeros({8192 + 1}, bf16).narrow(0, 1, 8192);  // 2 bytes off
  const std::vector<torch::Tensor> casts = {torch::zeros({3}, bf16), torch::zeros({4096}, bf16),
                                            torch::zeros({12289}, bf16), shifted, torch::Tensor()};
  std::vector<int64_t> versions;
  for (const auto& p : params) versions.push_back(p._version());
  expect_same_params(train_both(initial, params, true, 0.1, {}, nullptr, casts), params);
  for (size_t i = 0; i + 1 < casts.size(); ++i) {
    EXPECT_TRUE(torch::equal(casts[i], params[i].to(torch::kBFloat16)))
        << "cast " << i << " of " << sizes[i] << " elements";
    EXPECT_EQ(casts[i]._version(), kSteps) << "cast " << i;
  }
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_EQ(params[i]._version(), versions[i] + kSteps) << "parameter " << i;
}

// Views one float into a buffer are off 16-byte boundaries: their elements go one at a time,
// and the buffer's first element, outside every view, stays as it was.
TEST_F(AdamCudaTest, TensorsOffSixteenByteBoundaries) {
  const auto initial = random_params({4096, 8193});
  std::vector<torch::Tensor> buffers, params;
  for (const auto& p : initial) {
    buffers.push_back(torch::cat({torch::full({1}, 5.0f), p}).to(torch::kCUDA));
    params.push_back(buffers.back().narrow(0, 1, p.numel()));
  }
  expect_same_params(train_both(initial, params, true, 0.1), params);
  for (const auto& buffer : buffers) EXPECT_EQ(buffer[0].item<float>(), 5.0f);
}

TEST_F(AdamCudaTest, BadInputsSayWhatIsWrong) {
  const auto options = torch::TensorOptions(torch::kCUDA);
  const auto p = torch::zeros({8}, options), scalar = torch::ones({}, options);
  const AdamHyperparameters h{kBeta1, kBeta2, kEps, 0.0, true};
  const auto message_of = [&](std::vector<torch::Tensor> params, std::vector<torch::Tensor> grads,
                              torch::Tensor step, torch::Tensor learning_rate,
                              std::vector<torch::Tensor> casts = {}) -> std::string {
    try {
      adam_cuda_update(params, grads, {p.clone()}, {p.clone()}, casts, {step}, learning_rate, {},
                       h);
    } catch (const c10::Error& error) {
      return error.what_without_backtrace();
    }
    return "no error";
  };
  EXPECT_NE(message_of({p}, {p.to(torch::kDouble)}, scalar, scalar).find("parameter 0"),
            std::string::npos);
  EXPECT_NE(message_of({p}, {torch::zeros({9}, options)}, scalar, scalar).find("size [8]"),
            std::string::npos);
  EXPECT_NE(message_of({p}, {torch::zeros({16}, options).slice(0, 0, 16, 2)}, scalar, scalar)
                .find("contiguous"),
            std::string::npos);
  EXPECT_NE(message_of({p.cpu()}, {p.cpu()}, scalar, scalar).find("on CUDA"), std::string::npos);
  EXPECT_NE(message_of({p}, {p}, scalar, torch::ones({2}, options)).find("the learning rate"),
            std::string::npos);
  EXPECT_NE(message_of({p}, {p}, scalar.cpu(), scalar).find("each step count"), std::string::npos);
  EXPECT_NE(message_of({p}, {}, scalar, scalar).find("1 parameters but 0 gradients"),
            std::string::npos);
  EXPECT_NE(message_of({p}, {p}, scalar, scalar, {p.to(torch::kHalf)}).find("its cast must be"),
            std::string::npos);
  EXPECT_NE(message_of({p}, {p}, scalar, scalar, {p, p}).find("2 casts"), std::string::npos);
}

}  // namespace
}  // namespace parrot

#else

TEST(AdamCudaTest, NeedsACudaBuild) {
  GTEST_SKIP() << "parrot was built without its CUDA Adam, which needs nvcc and a LibTorch with "
                  "CUDA (docs/gpu.md)";
}

#endif
