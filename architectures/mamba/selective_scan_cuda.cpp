// The CUDA selective scan as a LibTorch autograd function: checks the inputs, makes them
// contiguous once (B and C but for their batch stride), runs the kernels
// (selective_scan_cuda_forward.cu and _backward.cu) on the current CUDA stream, and adds up the
// backward's partial sums, as selective_scan_cpu.cpp does.

#include "selective_scan_cuda.hpp"
#include "selective_scan_cuda_kernel.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>
#include <parrot/cuda_dtype_of.hpp>

#include <initializer_list>
#include <utility>

namespace parrot::mamba {
namespace {

using cuda_scan::Sizes;
using parrot::cuda::float_or_bfloat16;

Sizes check_inputs(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                   const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D) {
  TORCH_CHECK(u.is_cuda(), "selective_scan_cuda: CUDA tensors only, u is on ", u.device());
  for (const auto* t : {&delta, &A, &B, &C, &D})
    TORCH_CHECK(t->device() == u.device(), "selective_scan_cuda: all inputs must be on u's ",
                u.device(), ", got ", t->device());
  TORCH_CHECK(float_or_bfloat16(u), "selective_scan_cuda: u must be float or bfloat16, got ",
              u.scalar_type());
  for (const auto* t : {&delta, &B, &C})
    TORCH_CHECK(t->scalar_type() == u.scalar_type(),
                "selective_scan_cuda: delta, B and C must have u's type ", u.scalar_type(),
                ", got ", t->scalar_type());
  for (const auto* t : {&A, &D})
    TORCH_CHECK(float_or_bfloat16(*t),
                "selective_scan_cuda: A and D must be float or bfloat16, got ", t->scalar_type());
  TORCH_CHECK(u.dim() == 3, "selective_scan_cuda: u must be [batch, channels, length], got ",
              u.sizes());
  TORCH_CHECK(delta.sizes() == u.sizes(), "selective_scan_cuda: delta must match u ", u.sizes(),
              ", got ", delta.sizes());
  TORCH_CHECK(A.dim() == 2 && A.size(0) == u.size(1),
              "selective_scan_cuda: A must be [channels, state] with channels ", u.size(1),
              ", got ", A.sizes());
  const Sizes s{u.size(0), u.size(1), u.size(2), A.size(1)};
  for (const auto* t : {&B, &C})
    TORCH_CHECK(t->sizes() == torch::IntArrayRef({s.batch, s.state, s.length}),
                "selective_scan_cuda: B and C must be [batch, state, length] = [", s.batch, ", ",
                s.state, ", ", s.length, "], got ", t->sizes());
  TORCH_CHECK(D.dim() == 1 && D.size(0) == s.channels,
              "selective_scan_cuda: D must be [channels] with channels ", s.channels, ", got ",
              D.sizes());
  TORCH_CHECK(s.state <= cuda_scan::kMaxState, "selective_scan_cuda: at most ",
              cuda_scan::kMaxState, " states, got ", s.state);
  return s;
}

bool empty(const Sizes& s) { return s.batch == 0 || s.channels == 0 || s.length == 0; }

void check_cuda(cudaError_t error, const char* what) {
  TORCH_CHECK(error == cudaSuccess, "selective_scan_cuda: ", what,
              " failed: ", cudaGetErrorString(error));
}

// B and C [batch, state, length] as the kernels take them: one batch stride for both, anything
// else contiguous. Mamba's are views of x_proj's output, whose copies would cost a kernel each.
std::pair<torch::Tensor, torch::Tensor> rows_contiguous(const torch::Tensor& B,
                                                        const torch::Tensor& C) {
  const auto rows = [](const torch::Tensor& t) {
    return (t.size(2) <= 1 || t.stride(2) == 1) && (t.size(1) <= 1 || t.stride(1) == t.size(2));
  };
  if (rows(B) && rows(C) && (B.size(0) <= 1 || B.stride(0) == C.stride(0))) return {B, C};
  return {B.contiguous(), C.contiguous()};
}

// u, delta, B and C of one type, A, D and delta_bias float, all contiguous but for B's and C's
// batch stride (rows_contiguous); delta_bias empty where delta holds the step sizes.
cuda_scan::Inputs pointers(const torch::Tensor& u, const torch::Tensor& delta,
                           const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C,
                           const torch::Tensor& D, const torch::Tensor& delta_bias) {
  const auto dtype = parrot::cuda::dtype_of(u);
  return {dtype,
          u.data_ptr(),
          delta.data_ptr(),
          B.data_ptr(),
          C.data_ptr(),
          B.size(0) <= 1 ? B.size(1) * B.size(2) : B.stride(0),
          A.data_ptr<float>(),
          D.data_ptr<float>(),
          delta_bias.numel() > 0 ? delta_bias.data_ptr<float>() : nullptr};
}

bool records_grad(std::initializer_list<const torch::Tensor*> inputs) {
  if (!torch::GradMode::is_enabled()) return false;
  for (const auto* t : inputs)
    if (t->requires_grad()) return true;
  return false;
}

// An autograd function's inputs must all be defined: an empty delta_bias stands for none.
struct SelectiveScanCudaFunction : torch::autograd::Function<SelectiveScanCudaFunction> {
  // `recording`: whether autograd records this call, so that the backward will need the states
  // the forward saves (a Function's forward runs without grad mode, so it cannot ask).
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& u_in,
                               const torch::Tensor& delta_in, const torch::Tensor& A_in,
                               const torch::Tensor& B_in, const torch::Tensor& C_in,
                               const torch::Tensor& D_in, const torch::Tensor& delta_bias_in,
                               bool recording) {
    const Sizes s = check_inputs(u_in, delta_in, A_in, B_in, C_in, D_in);
    const c10::cuda::CUDAGuard device(u_in.device());
    const auto u = u_in.contiguous(), delta = delta_in.contiguous();
    const auto [B, C] = rows_contiguous(B_in, C_in);
    const auto A = A_in.to(torch::kFloat).contiguous(), D = D_in.to(torch::kFloat).contiguous();
    const auto delta_bias = delta_bias_in.to(torch::kFloat).contiguous();
    auto y = torch::empty_like(u);
    auto saved_states = torch::empty({recording ? cuda_scan::saved_state_floats(s) : 0},
                                     u.options().dtype(torch::kFloat));
    check_cuda(cuda_scan::forward(pointers(u, delta, A, B, C, D, delta_bias), s, y.data_ptr(),
                                  recording ? saved_states.data_ptr<float>() : nullptr,
                                  c10::cuda::getCurrentCUDAStream()),
               "forward");
    ctx->save_for_backward({u, delta, A, B, C, D, delta_bias, saved_states});
    // A's, D's and delta_bias's gradients go back in their own types.
    ctx->saved_data["A_type"] = static_cast<int64_t>(A_in.scalar_type());
    ctx->saved_data["D_type"] = static_cast<int64_t>(D_in.scalar_type());
    ctx->saved_data["delta_bias_type"] = static_cast<int64_t>(delta_bias_in.scalar_type());
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &u = saved[0], &delta = saved[1], &A = saved[2], &B = saved[3], &C = saved[4],
               &D = saved[5], &delta_bias = saved[6], &saved_states = saved[7];
    const auto type_of = [&](const char* name) {
      return static_cast<torch::ScalarType>(ctx->saved_data[name].toInt());
    };
    const auto A_type = type_of("A_type"), D_type = type_of("D_type");
    const auto delta_bias_type = type_of("delta_bias_type");
    const Sizes s{u.size(0), u.size(1), u.size(2), A.size(1)};
    if (empty(s))
      return {torch::zeros_like(u),
              torch::zeros_like(delta),
              torch::zeros_like(A, A_type),
              torch::zeros_like(B),
              torch::zeros_like(C),
              torch::zeros_like(D, D_type),
              torch::zeros_like(delta_bias, delta_bias_type),
              torch::Tensor()};

    const c10::cuda::CUDAGuard device(u.device());
    const auto gy = grad_outputs[0].to(u.scalar_type()).contiguous();
    TORCH_INTERNAL_ASSERT(saved_states.numel() == cuda_scan::saved_state_floats(s),
                          "selective_scan_cuda: the forward saved no states for the backward");
    const auto in = pointers(u, delta, A, B, C, D, delta_bias);
    cuda_scan::BackwardPlan plan{};
    check_cuda(cuda_scan::plan_backward(s, in.dtype, &plan), "planning the backward");
    const auto floats = u.options().dtype(torch::kFloat);
    auto gu = torch::empty_like(u), gdelta = torch::empty_like(u);
    // Partial sums that reduce over the same dimension share a buffer, which one sum reduces:
    // D's and the bias's over batch rows, B's and C's over groups of channels.
    auto gA_part = torch::empty({s.batch, s.channels, s.state}, floats);
    auto gD_bias_part = torch::empty({in.delta_bias ? 2 : 1, s.batch, s.channels}, floats);
    auto gBC_part = torch::empty({2, plan.groups, s.batch, s.state, s.length}, floats);
    const cuda_scan::Gradients out{gu.data_ptr(),
                                   gdelta.data_ptr(),
                                   gA_part.data_ptr<float>(),
                                   gD_bias_part[0].data_ptr<float>(),
                                   in.delta_bias ? gD_bias_part[1].data_ptr<float>() : nullptr,
                                   gBC_part[0].data_ptr<float>(),
                                   gBC_part[1].data_ptr<float>()};
    check_cuda(cuda_scan::backward(in, s, gy.data_ptr(), saved_states.data_ptr<float>(), plan, out,
                                   c10::cuda::getCurrentCUDAStream()),
               "backward");
    // The partial sums over batch rows (A, D) and over groups of channels (B, C), reduced.
    const auto gBC = gBC_part.sum(1).to(u.scalar_type());
    const auto gD_bias = gD_bias_part.sum(1);
    return {gu,
            gdelta,
            gA_part.sum(0).to(A_type),
            gBC[0],
            gBC[1],
            gD_bias[0].to(D_type),
            in.delta_bias ? gD_bias[1].to(delta_bias_type)
                          : torch::zeros_like(delta_bias, delta_bias_type),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor selective_scan_cuda(const torch::Tensor& u, const torch::Tensor& delta,
                                  const torch::Tensor& A, const torch::Tensor& B,
                                  const torch::Tensor& C, const torch::Tensor& D) {
  return SelectiveScanCudaFunction::apply(u, delta, A, B, C, D, torch::empty({0}, A.options()),
                                          records_grad({&u, &delta, &A, &B, &C, &D}));
}

torch::Tensor selective_scan_softplus_cuda(const torch::Tensor& u, const torch::Tensor& dt,
                                           const torch::Tensor& dt_bias, const torch::Tensor& A,
                                           const torch::Tensor& B, const torch::Tensor& C,
                                           const torch::Tensor& D) {
  TORCH_CHECK(dt_bias.dim() == 1 && dt_bias.size(0) == u.size(1) && dt_bias.numel() > 0,
              "selective_scan_cuda: dt_bias must be [channels] with channels ", u.size(1), ", got ",
              dt_bias.sizes());
  TORCH_CHECK(dt_bias.device() == u.device() && float_or_bfloat16(dt_bias),
              "selective_scan_cuda: dt_bias must be float or bfloat16 on u's ", u.device(),
              ", got ", dt_bias.scalar_type(), " on ", dt_bias.device());
  return SelectiveScanCudaFunction::apply(u, dt, A, B, C, D, dt_bias,
                                          records_grad({&u, &dt, &dt_bias, &A, &B, &C, &D}));
}

bool selective_scan_cuda_applies(const torch::Tensor& u, const torch::Tensor& delta,
                                 const torch::Tensor& A, const torch::Tensor& B,
                                 const torch::Tensor& C, const torch::Tensor& D) {
  if (!u.is_cuda() || !float_or_bfloat16(u)) return false;
  for (const auto* t : {&delta, &B, &C})
    if (t->device() != u.device() || t->scalar_type() != u.scalar_type()) return false;
  for (const auto* t : {&A, &D})
    if (t->device() != u.device() || !float_or_bfloat16(*t)) return false;
  return A.dim() != 2 || A.size(1) <= cuda_scan::kMaxState;
}

}  // namespace parrot::mamba
