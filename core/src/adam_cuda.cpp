// Checks the tensors and hands the Adam kernel (adam_cuda_kernel.cu) their pointers on the
// current CUDA stream.

#include "adam_cuda.hpp"

#include "adam_cuda_kernel.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>

namespace parrot {
namespace {

void check_scalar(const torch::Tensor& t, const torch::Device& device, const char* what) {
  TORCH_CHECK(
      t.defined() && t.numel() == 1 && t.scalar_type() == torch::kFloat && t.device() == device,
      "adam_cuda_update: ", what, " must be one float on ", device, ", not ",
      t.defined()
          ? t.toString() + " of " + std::to_string(t.numel()) + " elements on " + t.device().str()
          : std::string("undefined"));
}

}  // namespace

void adam_cuda_update(const std::vector<torch::Tensor>& params,
                      const std::vector<torch::Tensor>& grads,
                      const std::vector<torch::Tensor>& exp_avgs,
                      const std::vector<torch::Tensor>& exp_avg_sqs,
                      const std::vector<torch::Tensor>& casts,
                      const std::vector<torch::Tensor>& steps, const torch::Tensor& learning_rate,
                      const std::optional<torch::Tensor>& divisor,
                      const AdamHyperparameters& hyperparameters) {
  const size_t count = params.size();
  TORCH_CHECK(grads.size() == count && exp_avgs.size() == count && exp_avg_sqs.size() == count &&
                  (casts.empty() || casts.size() == count) && steps.size() == count,
              "adam_cuda_update: ", count, " parameters but ", grads.size(), " gradients, ",
              exp_avgs.size(), " exp_avgs, ", exp_avg_sqs.size(), " exp_avg_sqs, ", casts.size(),
              " casts and ", steps.size(), " step counts");
  if (count == 0) return;
  const torch::Device device = params.front().device();
  TORCH_CHECK(device.is_cuda(), "adam_cuda_update: the parameters must be on CUDA, not ", device);
  check_scalar(learning_rate, device, "the learning rate");
  if (divisor) check_scalar(*divisor, device, "the divisor");

  std::vector<cuda_adam::Tensor> tensors;
  tensors.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    for (const auto* t : {&params[i], &grads[i], &exp_avgs[i], &exp_avg_sqs[i]})
      TORCH_CHECK(t->defined() && t->scalar_type() == torch::kFloat && t->device() == device &&
                      t->is_contiguous() && t->sizes() == params[i].sizes(),
                  "adam_cuda_update: parameter ", i,
                  ": its value, gradient and moments must be contiguous float tensors of its size ",
                  params[i].sizes(), " on ", device);
    const torch::Tensor cast = casts.empty() ? torch::Tensor() : casts[i];
    TORCH_CHECK(
        !cast.defined() || (cast.scalar_type() == torch::kBFloat16 && cast.device() == device &&
                            cast.is_contiguous() && cast.sizes() == params[i].sizes()),
        "adam_cuda_update: parameter ", i,
        ": its cast must be a contiguous bfloat16 tensor of its size ", params[i].sizes(), " on ",
        device);
    check_scalar(steps[i], device, "each step count");
    tensors.push_back({params[i].data_ptr<float>(), grads[i].data_ptr<float>(),
                       exp_avgs[i].data_ptr<float>(), exp_avg_sqs[i].data_ptr<float>(),
                       steps[i].data_ptr<float>(),
                       cast.defined() ? reinterpret_cast<__nv_bfloat16*>(cast.data_ptr()) : nullptr,
                       params[i].numel()});
  }
  const c10::cuda::CUDAGuard guard(device);
  const auto& h = hyperparameters;
  const cudaError_t error = cuda_adam::update(
      tensors.data(), static_cast<int64_t>(count),
      {static_cast<float>(h.beta1), static_cast<float>(h.beta2), static_cast<float>(h.eps),
       static_cast<float>(h.weight_decay), h.decoupled_decay},
      learning_rate.data_ptr<float>(), divisor ? divisor->data_ptr<float>() : nullptr,
      c10::cuda::getCurrentCUDAStream());
  TORCH_CHECK(error == cudaSuccess,
              "adam_cuda_update: the kernel failed: ", cudaGetErrorString(error));
  // The kernel writes through pointers, which the version counters do not see.
  for (const auto& tensors_written : {&params, &exp_avgs, &exp_avg_sqs, &casts})
    for (const auto& t : *tensors_written)
      if (t.defined()) t.unsafeGetTensorImpl()->bump_version();
}

}  // namespace parrot
