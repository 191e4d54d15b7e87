// The CPU selective scan as a LibTorch autograd function: checks the inputs, makes them
// contiguous once, runs the hand-written forward and backward loops
// (selective_scan_cpu_kernel.cpp) in parallel over tasks, and reduces their partial gradients.
// The loops come compiled for several instruction sets; the best one the CPU runs is used.

#include "selective_scan.hpp"
#include "selective_scan_cpu_kernel.hpp"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <mutex>

namespace parrot::mamba {
namespace cpu_scan {

std::vector<Kernels> supported_kernels() {
  std::vector<Kernels> kernels{baseline::kernels()};
#if defined(__x86_64__)
  // These also check that the operating system saves the wide registers.
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    kernels.push_back(avx2::kernels());
  if (__builtin_cpu_supports("avx512f")) kernels.push_back(avx512::kernels());
#endif
  return kernels;
}

namespace {

std::mutex chosen_mutex;
Kernels& chosen() {
  static Kernels kernels = supported_kernels().back();
  return kernels;
}

Kernels current_kernels() {
  const std::lock_guard<std::mutex> lock(chosen_mutex);
  return chosen();
}

}  // namespace

void use_kernels(const Kernels& kernels) {
  const std::lock_guard<std::mutex> lock(chosen_mutex);
  chosen() = kernels;
}

}  // namespace cpu_scan

namespace {

using cpu_scan::Gradients;
using cpu_scan::Inputs;
using cpu_scan::Sizes;

const cpu_scan::ScanKernels<float>& of(const cpu_scan::Kernels& kernels, float) {
  return kernels.f32;
}
const cpu_scan::ScanKernels<double>& of(const cpu_scan::Kernels& kernels, double) {
  return kernels.f64;
}

Sizes sizes_of(const torch::Tensor& u, const torch::Tensor& A) {
  return {u.size(0), u.size(1), u.size(2), A.size(1),
          (u.size(1) + cpu_scan::kChannelsPerTask - 1) / cpu_scan::kChannelsPerTask};
}

Sizes check_inputs(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                   const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D) {
  const auto dtype = u.scalar_type();
  TORCH_CHECK(dtype == torch::kFloat || dtype == torch::kDouble,
              "selective_scan_cpu: float or double tensors only, got ", dtype);
  for (const auto* t : {&u, &delta, &A, &B, &C, &D}) {
    TORCH_CHECK(t->device().is_cpu(), "selective_scan_cpu: CPU tensors only, got ", t->device());
    TORCH_CHECK(t->scalar_type() == dtype, "selective_scan_cpu: all inputs must be ", dtype,
                ", got ", t->scalar_type());
  }
  TORCH_CHECK(u.dim() == 3, "selective_scan_cpu: u must be [batch, channels, length], got ",
              u.sizes());
  TORCH_CHECK(delta.sizes() == u.sizes(), "selective_scan_cpu: delta must match u ", u.sizes(),
              ", got ", delta.sizes());
  TORCH_CHECK(A.dim() == 2 && A.size(0) == u.size(1),
              "selective_scan_cpu: A must be [channels, state] with channels ", u.size(1), ", got ",
              A.sizes());
  const Sizes s = sizes_of(u, A);
  for (const auto* t : {&B, &C})
    TORCH_CHECK(t->sizes() == torch::IntArrayRef({s.batch, s.state, s.length}),
                "selective_scan_cpu: B and C must be [batch, state, length] = [", s.batch, ", ",
                s.state, ", ", s.length, "], got ", t->sizes());
  TORCH_CHECK(D.dim() == 1 && D.size(0) == s.channels,
              "selective_scan_cpu: D must be [channels] with channels ", s.channels, ", got ",
              D.sizes());
  return s;
}

template <typename scalar_t>
Inputs<scalar_t> pointers(const torch::Tensor& u, const torch::Tensor& delta,
                          const torch::Tensor& A, const torch::Tensor& Bt, const torch::Tensor& Ct,
                          const torch::Tensor& D) {
  return {u.data_ptr<scalar_t>(),  delta.data_ptr<scalar_t>(), A.data_ptr<scalar_t>(),
          Bt.data_ptr<scalar_t>(), Ct.data_ptr<scalar_t>(),    D.data_ptr<scalar_t>()};
}

struct SelectiveScanFunction : torch::autograd::Function<SelectiveScanFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& u_in,
                               const torch::Tensor& delta_in, const torch::Tensor& A_in,
                               const torch::Tensor& B_in, const torch::Tensor& C_in,
                               const torch::Tensor& D_in) {
    const Sizes s = check_inputs(u_in, delta_in, A_in, B_in, C_in, D_in);
    const auto u = u_in.contiguous(), delta = delta_in.contiguous(), A = A_in.contiguous(),
               D = D_in.contiguous();
    const auto Bt = B_in.transpose(1, 2).contiguous(), Ct = C_in.transpose(1, 2).contiguous();
    auto y = torch::empty_like(u);
    const auto kernels = cpu_scan::current_kernels();
    AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_cpu_forward", [&] {
      const auto in = pointers<scalar_t>(u, delta, A, Bt, Ct, D);
      const auto run = of(kernels, scalar_t{}).forward;
      auto* y_data = y.data_ptr<scalar_t>();
      at::parallel_for(0, s.batch * s.groups, 1,
                       [&](int64_t begin, int64_t end) { run(in, s, y_data, begin, end); });
    });
    ctx->save_for_backward({u, delta, A, Bt, Ct, D});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &u = saved[0], &delta = saved[1], &A = saved[2], &Bt = saved[3], &Ct = saved[4],
               &D = saved[5];
    const Sizes s = sizes_of(u, A);
    const auto gy = grad_outputs[0].contiguous();
    auto gu = torch::empty_like(u), gdelta = torch::empty_like(u);
    auto gA_part = torch::empty({s.batch, s.channels, s.state}, u.options());
    auto gD_part = torch::empty({s.batch, s.channels}, u.options());
    auto gB_part = torch::empty({s.groups, s.batch, s.length, s.state}, u.options());
    auto gC_part = torch::empty({s.groups, s.batch, s.length, s.state}, u.options());
    const auto kernels = cpu_scan::current_kernels();
    AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_cpu_backward", [&] {
      const auto in = pointers<scalar_t>(u, delta, A, Bt, Ct, D);
      const Gradients<scalar_t> out{gu.data_ptr<scalar_t>(),      gdelta.data_ptr<scalar_t>(),
                                    gA_part.data_ptr<scalar_t>(), gD_part.data_ptr<scalar_t>(),
                                    gB_part.data_ptr<scalar_t>(), gC_part.data_ptr<scalar_t>()};
      const auto run = of(kernels, scalar_t{}).backward;
      const auto* gy_data = gy.data_ptr<scalar_t>();
      at::parallel_for(0, s.batch * s.groups, 1,
                       [&](int64_t begin, int64_t end) { run(in, s, gy_data, out, begin, end); });
    });
    // The partial sums over batch rows (A, D) and over tasks (B, C), reduced.
    return {gu,
            gdelta,
            gA_part.sum(0),
            gB_part.sum(0).transpose(1, 2),
            gC_part.sum(0).transpose(1, 2),
            gD_part.sum(0)};
  }
};

}  // namespace

torch::Tensor selective_scan_cpu(const torch::Tensor& u, const torch::Tensor& delta,
                                 const torch::Tensor& A, const torch::Tensor& B,
                                 const torch::Tensor& C, const torch::Tensor& D) {
  return SelectiveScanFunction::apply(u, delta, A, B, C, D);
}

}  // namespace parrot::mamba
