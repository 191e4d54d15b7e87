// Adam and AdamW over many tensors in one launch, at the memory's pace. Each element is read
// once and written once: 16 bytes in (parameter, gradient, both moments) and 12 out, the
// gradient left as it is, plus 2 where the parameter's bfloat16 cast is kept (cast_weight).
// LibTorch's fused kernel writes the gradient back too, divided by the clipping divisor where
// there is one: four more bytes an element, for a value nobody reads again.
//
// A block takes 4096 consecutive elements of one tensor: 256 threads, four 16-byte loads of
// each array a thread, all issued before any arithmetic, so that enough bytes are in flight to
// keep HBM busy. The tensors of a launch (64 at most, their pointers in the kernel's parameters)
// are laid end to end over the grid; a block finds its tensor by binary search over their first
// blocks. A block whose elements are not all there, or not on 16-byte boundaries (8 for the cast),
// takes them one at a time.

#include "adam_cuda_kernel.hpp"

#include <parrot/cuda_vector.cuh>

#include <climits>
#include <cstdint>

namespace parrot::cuda_adam {
namespace {

constexpr int kThreads = 256;
constexpr int kVec = 4;               // floats in a 16-byte access
constexpr int kVectorsPerThread = 4;  // of each array
constexpr int64_t kBlockElements = kThreads * kVec * kVectorsPerThread;
constexpr int kMaxTensors = 64;  // keeps a Launch within the 4 KB of a kernel's parameters

using parrot::cuda::Vector;
using Float4 = Vector<float, kVec>;
using Bfloat4 = Vector<__nv_bfloat16, kVec>;

struct Launch {
  Tensor tensors[kMaxTensors];
  int first_block[kMaxTensors];  // of each tensor, in the grid
  int count;
  Settings settings;
  const float* learning_rate;
  const float* divisor;  // or null
};
static_assert(sizeof(Launch) <= 4096);

// What a step takes that is the same for every element of a tensor.
struct Coefficients {
  float beta1, beta2, eps, inverse_divisor;
  float decay;      // AdamW: 1 - lr * weight_decay, the weights' factor; Adam: weight_decay
  float step_size;  // lr / (1 - beta1^step)
  float inverse_bias_correction2_sqrt;  // 1 / sqrt(1 - beta2^step)
};

template <bool kDecoupled>
__device__ Coefficients coefficients(const Launch& launch, float step) {
  const Settings& s = launch.settings;
  const float lr = *launch.learning_rate;
  // In double, as LibTorch's optimizers take the powers.
  const double bias_correction1 = 1.0 - pow(static_cast<double>(s.beta1), step);
  const double bias_correction2 = 1.0 - pow(static_cast<double>(s.beta2), step);
  return {s.beta1,
          s.beta2,
          s.eps,
          launch.divisor ? 1.0f / *launch.divisor : 1.0f,
          kDecoupled ? 1.0f - lr * s.weight_decay : s.weight_decay,
          static_cast<float>(lr / bias_correction1),
          static_cast<float>(1.0 / sqrt(bias_correction2))};
}

template <bool kDecoupled>
__device__ __forceinline__ void update_element(const Coefficients& k, float& param, float grad,
                                               float& exp_avg, float& exp_avg_sq) {
  grad *= k.inverse_divisor;
  if (kDecoupled)
    param *= k.decay;
  else
    grad = fmaf(k.decay, param, grad);
  exp_avg = fmaf(k.beta1, exp_avg, (1.0f - k.beta1) * grad);
  exp_avg_sq = fmaf(k.beta2, exp_avg_sq, (1.0f - k.beta2) * grad * grad);
  const float denominator = fmaf(sqrtf(exp_avg_sq), k.inverse_bias_correction2_sqrt, k.eps);
  param -= k.step_size * exp_avg / denominator;
}

__device__ __forceinline__ bool aligned16(const Tensor& t) {
  const auto bits = reinterpret_cast<uintptr_t>(t.param) | reinterpret_cast<uintptr_t>(t.grad) |
                    reinterpret_cast<uintptr_t>(t.exp_avg) |
                    reinterpret_cast<uintptr_t>(t.exp_avg_sq);
  return bits % 16 == 0 && reinterpret_cast<uintptr_t>(t.cast) % 8 == 0;
}

template <bool kDecoupled>
__global__ void __launch_bounds__(kThreads) update_kernel(const __grid_constant__ Launch launch) {
  // This block's tensor: the last whose first block is at or before it.
  const int block = static_cast<int>(blockIdx.x);
  int lo = 0, hi = launch.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (launch.first_block[mid] <= block)
      lo = mid;
    else
      hi = mid - 1;
  }
  const Tensor& t = launch.tensors[lo];
  const int64_t begin = static_cast<int64_t>(block - launch.first_block[lo]) * kBlockElements;
  const int64_t end = begin + kBlockElements < t.numel ? begin + kBlockElements : t.numel;
  const Coefficients k = coefficients<kDecoupled>(launch, *t.step);

  if (end - begin < kBlockElements || !aligned16(t)) {
    for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
      update_element<kDecoupled>(k, t.param[i], t.grad[i], t.exp_avg[i], t.exp_avg_sq[i]);
      if (t.cast) t.cast[i] = __float2bfloat16_rn(t.param[i]);
    }
    return;
  }
  Float4 p[kVectorsPerThread], g[kVectorsPerThread], m[kVectorsPerThread], v[kVectorsPerThread];
  const auto at = [&](auto* base, int j) {
    return base + begin + (j * kThreads + threadIdx.x) * kVec;
  };
#pragma unroll
  for (int j = 0; j < kVectorsPerThread; ++j) {
    p[j] = *reinterpret_cast<const Float4*>(at(t.param, j));
    g[j] = *reinterpret_cast<const Float4*>(at(t.grad, j));
    m[j] = *reinterpret_cast<const Float4*>(at(t.exp_avg, j));
    v[j] = *reinterpret_cast<const Float4*>(at(t.exp_avg_sq, j));
  }
#pragma unroll
  for (int j = 0; j < kVectorsPerThread; ++j)
#pragma unroll
    for (int e = 0; e < kVec; ++e)
      update_element<kDecoupled>(k, p[j].v[e], g[j].v[e], m[j].v[e], v[j].v[e]);
#pragma unroll
  for (int j = 0; j < kVectorsPerThread; ++j) {
    *reinterpret_cast<Float4*>(at(t.param, j)) = p[j];
    *reinterpret_cast<Float4*>(at(t.exp_avg, j)) = m[j];
    *reinterpret_cast<Float4*>(at(t.exp_avg_sq, j)) = v[j];
  }
  if (t.cast) {
#pragma unroll
    for (int j = 0; j < kVectorsPerThread; ++j) {
      Bfloat4 c;
#pragma unroll
      for (int e = 0; e < kVec; ++e) c.v[e] = __float2bfloat16_rn(p[j].v[e]);
      *reinterpret_cast<Bfloat4*>(at(t.cast, j)) = c;
    }
  }
}

cudaError_t launch_kernel(const Launch& launch, int blocks, cudaStream_t stream) {
  if (launch.settings.decoupled_decay)
    update_kernel<true><<<blocks, kThreads, 0, stream>>>(launch);
  else
    update_kernel<false><<<blocks, kThreads, 0, stream>>>(launch);
  return cudaGetLastError();
}

}  // namespace

cudaError_t update(const Tensor* tensors, int64_t count, const Settings& settings,
                   const float* learning_rate, const float* divisor, cudaStream_t stream) {
  if (count < 0 || (count > 0 && (!tensors || !learning_rate))) return cudaErrorInvalidValue;
  Launch launch{};
  launch.settings = settings;
  launch.learning_rate = learning_rate;
  launch.divisor = divisor;
  int blocks = 0;
  for (int64_t i = 0; i < count; ++i) {
    const Tensor& t = tensors[i];
    if (t.numel < 0) return cudaErrorInvalidValue;
    if (t.numel == 0) continue;
    const int64_t needed = (t.numel + kBlockElements - 1) / kBlockElements;
    if (needed > INT_MAX) return cudaErrorInvalidValue;
    if (launch.count == kMaxTensors || blocks > INT_MAX - needed) {
      if (const cudaError_t error = launch_kernel(launch, blocks, stream); error != cudaSuccess)
        return error;
      launch.count = 0;
      blocks = 0;
    }
    launch.tensors[launch.count] = t;
    launch.first_block[launch.count++] = blocks;
    blocks += static_cast<int>(needed);
  }
  return launch.count == 0 ? cudaSuccess : launch_kernel(launch, blocks, stream);
}

}  // namespace parrot::cuda_adam
