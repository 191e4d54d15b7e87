// Layer norm in one pass each way, reading the residual stream in float and writing what the next
// matrix product takes. Under bf16 autocast LibTorch runs layer norm in float, writes a float
// result, casts it to bfloat16 in a pass of its own, and backward casts the bfloat16 gradient to
// float, computes the input's gradient in one kernel and the weight's and bias's in another that
// reads the gradient and the input again: five passes over [rows, width] floats where these
// kernels make two.
//
// A warp per row. Its lanes walk the row kVec elements at a time (16 bytes of float where width
// and addresses allow): once for the mean, once for the variance about it, once to write, the
// later walks served by the cache. Backward, the weight's and bias's gradients are summed per
// warp in shared memory, over the rows the warp takes, and per block in a fixed order: partial
// sums that the caller adds, so that every run gives the same bits.

#include "layer_norm_cuda_kernel.hpp"

#include <parrot/cuda_convert.cuh>
#include <parrot/cuda_vector.cuh>

#include <initializer_list>
#include <utility>

namespace parrot::transformer::cuda_norm {
namespace {

constexpr int kWarps = 4;  // a block's
constexpr int kThreads = 32 * kWarps;
constexpr unsigned kAllLanes = 0xffffffffu;
constexpr int64_t kMaxParts = 1024;

using parrot::cuda::aligned;
using parrot::cuda::from_float;
using parrot::cuda::to_float;
using parrot::cuda::Vector;

template <int kVec, typename T>
__device__ __forceinline__ void load(const T* p, float (&out)[kVec]) {
  const Vector<T, kVec> v = *reinterpret_cast<const Vector<T, kVec>*>(p);
#pragma unroll
  for (int e = 0; e < kVec; ++e) out[e] = to_float(v.v[e]);
}

template <int kVec, typename T>
__device__ __forceinline__ void store(T* p, const float (&in)[kVec]) {
  Vector<T, kVec> v;
#pragma unroll
  for (int e = 0; e < kVec; ++e) v.v[e] = from_float<T>(in[e]);
  *reinterpret_cast<Vector<T, kVec>*>(p) = v;
}

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(kAllLanes, x, offset);
  return x;
}

template <typename TX, typename TY, int kVec>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(const Rows in, float eps, TY* __restrict__ y, float* __restrict__ mean_out,
                   float* __restrict__ rstd_out) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (row >= in.rows) return;
  const int lane = threadIdx.x % 32, width = static_cast<int>(in.width);
  const TX* const x = static_cast<const TX*>(in.x) + row * width;

  float sum = 0.0f;
  for (int c = lane * kVec; c < width; c += 32 * kVec) {
    float v[kVec];
    load<kVec>(x + c, v);
#pragma unroll
    for (int e = 0; e < kVec; ++e) sum += v[e];
  }
  const float mean = warp_sum(sum) / width;
  float squares = 0.0f;
  for (int c = lane * kVec; c < width; c += 32 * kVec) {
    float v[kVec];
    load<kVec>(x + c, v);
#pragma unroll
    for (int e = 0; e < kVec; ++e) squares = fmaf(v[e] - mean, v[e] - mean, squares);
  }
  const float rstd = rsqrtf(warp_sum(squares) / width + eps);

  TY* const y_row = y + row * width;
  for (int c = lane * kVec; c < width; c += 32 * kVec) {
    float v[kVec], w[kVec], b[kVec];
    load<kVec>(x + c, v);
    load<kVec>(in.weight + c, w);
    load<kVec>(in.bias + c, b);
#pragma unroll
    for (int e = 0; e < kVec; ++e) v[e] = fmaf((v[e] - mean) * rstd, w[e], b[e]);
    store<kVec>(y_row + c, v);
  }
  if (lane == 0) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

// With xhat = (x - mean) rstd and g = gy weight, per row:
//   gx = rstd (g - mean(g) - xhat mean(g xhat)),   and over rows  gweight = sum gy xhat,
//   gbias = sum gy.
template <typename TX, typename TG, int kVec>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(const Rows in, const float* __restrict__ mean_in,
                    const float* __restrict__ rstd_in, const TG* __restrict__ gy,
                    TX* __restrict__ gx, float* __restrict__ gweight_parts,
                    float* __restrict__ gbias_parts) {
  extern __shared__ float4 shared[];
  const int width = static_cast<int>(in.width), lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float* const gweight = reinterpret_cast<float*>(shared) + warp * width;  // this warp's sums
  float* const gbias = reinterpret_cast<float*>(shared) + (kWarps + warp) * width;
  // Each lane only ever touches its own elements of these, so the warp needs no barrier.
  for (int c = lane * kVec; c < width; c += 32 * kVec) {
    const float zeros[kVec] = {};
    store<kVec>(gweight + c, zeros);
    store<kVec>(gbias + c, zeros);
  }

  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + warp; row < in.rows;
       row += static_cast<int64_t>(gridDim.x) * kWarps) {
    const TX* const x = static_cast<const TX*>(in.x) + row * width;
    const TG* const gy_row = gy + row * width;
    const float mean = mean_in[row], rstd = rstd_in[row];
    float sum_g = 0.0f, sum_g_xhat = 0.0f;
    for (int c = lane * kVec; c < width; c += 32 * kVec) {
      float v[kVec], g[kVec], w[kVec], sum_w[kVec], sum_b[kVec];
      load<kVec>(x + c, v);
      load<kVec>(gy_row + c, g);
      load<kVec>(in.weight + c, w);
      load<kVec>(gweight + c, sum_w);
      load<kVec>(gbias + c, sum_b);
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        const float xhat = (v[e] - mean) * rstd;
        sum_w[e] = fmaf(g[e], xhat, sum_w[e]);
        sum_b[e] += g[e];
        sum_g = fmaf(g[e], w[e], sum_g);
        sum_g_xhat = fmaf(g[e] * w[e], xhat, sum_g_xhat);
      }
      store<kVec>(gweight + c, sum_w);
      store<kVec>(gbias + c, sum_b);
    }
    const float mean_g = warp_sum(sum_g) / width, mean_g_xhat = warp_sum(sum_g_xhat) / width;
    TX* const gx_row = gx + row * width;
    for (int c = lane * kVec; c < width; c += 32 * kVec) {
      float v[kVec], g[kVec], w[kVec];
      load<kVec>(x + c, v);
      load<kVec>(gy_row + c, g);
      load<kVec>(in.weight + c, w);
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        const float xhat = (v[e] - mean) * rstd;
        v[e] = rstd * (g[e] * w[e] - mean_g - xhat * mean_g_xhat);
      }
      store<kVec>(gx_row + c, v);
    }
  }
  __syncthreads();
  // The block's sums: its warps' in order.
  const float* const sums = reinterpret_cast<const float*>(shared);
  for (int c = threadIdx.x; c < width; c += kThreads) {
    float w = 0.0f, b = 0.0f;
#pragma unroll
    for (int k = 0; k < kWarps; ++k) {
      w += sums[k * width + c];
      b += sums[(kWarps + k) * width + c];
    }
    gweight_parts[static_cast<int64_t>(blockIdx.x) * width + c] = w;
    gbias_parts[static_cast<int64_t>(blockIdx.x) * width + c] = b;
  }
}

// kVec elements a load where the width and every row's address allow it.
bool vectors_fit(int vec, int64_t width,
                 std::initializer_list<std::pair<const void*, int64_t>> rows) {
  if (width % vec != 0) return false;
  for (const auto& [data, element_bytes] : rows)
    if (!aligned(data, vec * element_bytes)) return false;
  return true;
}

int64_t element_bytes(Dtype type) { return type == Dtype::kBFloat16 ? 2 : 4; }

// f(x type, second type) for the runtime types, as TypeTags.
template <typename F>
cudaError_t with_types(Dtype first, Dtype second, F&& f) {
  using parrot::cuda::with_type;
  return with_type(first, [&](auto first_tag) {
    return with_type(second, [&](auto second_tag) { return f(first_tag, second_tag); });
  });
}

bool valid(const Rows& in) { return in.rows >= 0 && in.width >= 1 && in.width <= kMaxWidth; }

}  // namespace

cudaError_t forward(const Rows& in, float eps, Dtype y_type, void* y, float* mean, float* rstd,
                    cudaStream_t stream) {
  if (!valid(in)) return cudaErrorInvalidValue;
  if (in.rows == 0) return cudaSuccess;
  const int64_t blocks = (in.rows + kWarps - 1) / kWarps;
  if (blocks > INT32_MAX) return cudaErrorInvalidValue;
  const bool wide = vectors_fit(
      4, in.width,
      {{in.x, element_bytes(in.x_type)}, {y, element_bytes(y_type)}, {in.weight, 4}, {in.bias, 4}});
  return with_types(in.x_type, y_type, [&](auto x_tag, auto y_tag) {
    using TX = typename decltype(x_tag)::type;
    using TY = typename decltype(y_tag)::type;
    const auto kernel = wide ? forward_kernel<TX, TY, 4> : forward_kernel<TX, TY, 1>;
    kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(in, eps, static_cast<TY*>(y),
                                                                   mean, rstd);
    return cudaGetLastError();
  });
}

int64_t backward_parts(int64_t rows) {
  const int64_t blocks = (rows + kWarps - 1) / kWarps;
  return blocks < kMaxParts ? blocks : kMaxParts;
}

cudaError_t backward(const Rows& in, const float* mean, const float* rstd, Dtype gy_type,
                     const void* gy, void* gx, float* gweight_parts, float* gbias_parts,
                     cudaStream_t stream) {
  if (!valid(in) || in.rows == 0) return cudaErrorInvalidValue;
  const bool wide = vectors_fit(4, in.width,
                                {{in.x, element_bytes(in.x_type)},
                                 {gy, element_bytes(gy_type)},
                                 {gx, element_bytes(in.x_type)},
                                 {in.weight, 4}});
  const size_t shared_bytes = sizeof(float) * 2 * kWarps * in.width;
  return with_types(in.x_type, gy_type, [&](auto x_tag, auto g_tag) {
    using TX = typename decltype(x_tag)::type;
    using TG = typename decltype(g_tag)::type;
    const auto kernel = wide ? backward_kernel<TX, TG, 4> : backward_kernel<TX, TG, 1>;
    if (const auto error = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                static_cast<int>(shared_bytes)))
      return error;
    kernel<<<static_cast<unsigned>(backward_parts(in.rows)), kThreads, shared_bytes, stream>>>(
        in, mean, rstd, static_cast<const TG*>(gy), static_cast<TX*>(gx), gweight_parts,
        gbias_parts);
    return cudaGetLastError();
  });
}

}  // namespace parrot::transformer::cuda_norm
