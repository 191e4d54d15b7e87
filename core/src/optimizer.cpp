// AdamW and Adam, plain or fused. The fused one keeps LibTorch's optimizer state (exp_avg,
// exp_avg_sq, step) so that checkpoints are the same either way, and adds what the fused kernel
// needs on the device: one step count per parameter and one learning rate per group. The fused
// kernel is parrot's own (adam_cuda.hpp) where parrot is built with it, else LibTorch's.

#include "optimizer.hpp"

#include <parrot/torch_version.hpp>

#ifdef PARROT_ADAM_CUDA
#include "adam_cuda.hpp"
#include "kept_weight_casts.hpp"
#endif

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <optional>
#include <unordered_map>

namespace parrot {
namespace {

#if PARROT_TORCH_AT_LEAST(2, 4)

template <class Base>
class Fused : public Base, public DeviceLearningRate, public DividesGradients {
 public:
  static constexpr bool kDecoupledDecay = std::is_same_v<Base, torch::optim::AdamW>;
  using State = std::conditional_t<kDecoupledDecay, torch::optim::AdamWParamState,
                                   torch::optim::AdamParamState>;
  using Options =
      std::conditional_t<kDecoupledDecay, torch::optim::AdamWOptions, torch::optim::AdamOptions>;

  Fused(std::vector<torch::optim::OptimizerParamGroup> groups, const Options& defaults)
      : Base(std::move(groups), defaults) {}

  void sync_learning_rate() override {
    auto& groups = this->param_groups();
    while (learning_rates_.size() < groups.size())
      learning_rates_.push_back(torch::zeros(
          {}, groups[learning_rates_.size()].params().front().options().dtype(torch::kFloat)));
    for (size_t i = 0; i < groups.size(); ++i)
      learning_rates_[i].fill_(groups[i].options().get_lr());
  }

  void divide_next_gradients_by(torch::Tensor divisor) override {
    gradient_divisor_ = std::move(divisor);
  }

  torch::Tensor step(torch::optim::Optimizer::LossClosure closure = nullptr) override {
    TORCH_CHECK(!closure, "parrot's fused Adam takes no closure");
    torch::NoGradGuard no_grad;
    auto& groups = this->param_groups();
    TORCH_CHECK(learning_rates_.size() == groups.size(),
                "sync_learning_rate() must run before the first step");
    // Each gradient is read divided by the divisor. LibTorch's kernels take it as AMP's gradient
    // scale and write the gradients back divided; parrot's leaves them as they are.
    const std::optional<torch::Tensor> divisor =
        gradient_divisor_.defined() ? std::optional(gradient_divisor_) : std::nullopt;
    gradient_divisor_.reset();
    for (size_t g = 0; g < groups.size(); ++g) {
      const auto& options = static_cast<const Options&>(groups[g].options());
      std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
      for (const auto& param : groups[g].params()) {
        if (!param.grad().defined()) continue;
        State& state = state_of(param);
        params.push_back(param);
        grads.push_back(param.grad());
        exp_avgs.push_back(state.exp_avg());
        exp_avg_sqs.push_back(state.exp_avg_sq());
        steps.push_back(step_of(param, state));
      }
      if (params.empty()) continue;
      at::_foreach_add_(steps, 1);
      const auto [beta1, beta2] = options.betas();
#ifdef PARROT_ADAM_CUDA
      // The bfloat16 casts that cast_weight keeps (contiguous, as it makes them) are written
      // with the update, so that the next forward pass need not cast the weights again.
      std::vector<torch::Tensor> casts;
      for (const auto& param : params) {
        torch::Tensor cast = kept_cast_of(param);
        casts.push_back(cast.defined() && cast.scalar_type() == torch::kBFloat16 ? std::move(cast)
                                                                                 : torch::Tensor());
      }
      adam_cuda_update(params, grads, exp_avgs, exp_avg_sqs, casts, steps, learning_rates_[g],
                       divisor,
                       {beta1, beta2, options.eps(), options.weight_decay(), kDecoupledDecay});
      for (size_t i = 0; i < params.size(); ++i)
        if (casts[i].defined()) kept_cast_written(params[i]);
#else
      if constexpr (kDecoupledDecay)
        at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, learning_rates_[g],
                          beta1, beta2, options.weight_decay(), options.eps(), false, false,
                          divisor);
      else
        at::_fused_adam_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, learning_rates_[g], beta1,
                         beta2, options.weight_decay(), options.eps(), false, false, divisor);
#endif
    }
    return {};
  }

  // The device step counts are the truth while training; the saved state gets them.
  void save(torch::serialize::OutputArchive& archive) const override {
    for (const auto& [key, count] : steps_)
      static_cast<State&>(*this->state_.at(key)).step(count.template item<int64_t>());
    Base::save(archive);
  }

  void load(torch::serialize::InputArchive& archive) override {
    Base::load(archive);
    steps_.clear();  // rebuilt from the loaded state at the next step
  }

 private:
  State& state_of(const torch::Tensor& param) {
    auto& slot = this->state_[param.unsafeGetTensorImpl()];
    if (!slot) {
      auto state = std::make_unique<State>();
      state->exp_avg(torch::zeros_like(param, torch::MemoryFormat::Preserve));
      state->exp_avg_sq(torch::zeros_like(param, torch::MemoryFormat::Preserve));
      slot = std::move(state);
    }
    return static_cast<State&>(*slot);
  }

  torch::Tensor& step_of(const torch::Tensor& param, const State& state) {
    auto& count = steps_[param.unsafeGetTensorImpl()];
    if (!count.defined())
      count =
          torch::full({}, static_cast<double>(state.step()), param.options().dtype(torch::kFloat));
    return count;
  }

  std::vector<torch::Tensor> learning_rates_;
  std::unordered_map<void*, torch::Tensor> steps_;
  torch::Tensor gradient_divisor_;
};

#endif

// Fused on CUDA where this LibTorch has the kernels, LibTorch's own optimizer elsewhere.
template <class Plain, class Options>
std::unique_ptr<torch::optim::Optimizer> build(
    std::vector<torch::optim::OptimizerParamGroup> groups, const Options& defaults,
    const torch::Device& device) {
#if PARROT_TORCH_AT_LEAST(2, 4)
  if (device.is_cuda()) return std::make_unique<Fused<Plain>>(std::move(groups), defaults);
#else
  (void)device;
#endif
  return std::make_unique<Plain>(std::move(groups), defaults);
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(Model& model, const TrainSettings& train,
                                                        const torch::Device& device) {
  std::vector<torch::Tensor> decayed, free;
  for (const auto& item : model.named_parameters())
    (model.decays(item.key(), item.value()) ? decayed : free).push_back(item.value());
  auto optimizer = [&](auto options) {
    using Options = decltype(options);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(
        decayed, std::make_unique<Options>(Options(options).weight_decay(train.weight_decay)));
    groups.emplace_back(free, std::make_unique<Options>(Options(options).weight_decay(0.0)));
    using Plain = std::conditional_t<std::is_same_v<Options, torch::optim::AdamOptions>,
                                     torch::optim::Adam, torch::optim::AdamW>;
    return build<Plain>(std::move(groups), options, device);
  };
  if (train.optimizer == "adam")
    return optimizer(torch::optim::AdamOptions(train.learning_rate)
                         .betas({train.adam_beta1, train.adam_beta2})
                         .eps(1e-8));
  return optimizer(torch::optim::AdamWOptions(train.learning_rate)
                       .betas({train.adam_beta1, train.adam_beta2})
                       .eps(1e-8));
}

}  // namespace parrot
