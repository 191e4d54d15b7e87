// The qkv projection split into heads and RoPE applied in one pass, forward and backward: what is
// otherwise a split, a permute, three elementwise kernels for the rotation each way and, backward,
// two concatenations (eight launches a layer, a few microseconds each).
//
// One block per (batch, position): its threads take the dims of a head across (x) and the
// 3 * heads heads down (y), so that a warp reads and writes neighbouring elements of one head. A
// thread looks up its dim's angle and partner once and then walks its heads. The work is a few
// bytes per element, so the time is the latency of the loads: a thread issues the loads of
// kUnroll heads before it uses any of them. (One thread per element, each waiting on its own
// loads, took 38 us a call at the paper's 8 x 220 on an H200, in float and bf16 alike; this
// takes 22.)

#include "rotary_cuda_kernel.hpp"

#include <parrot/cuda_convert.cuh>

namespace parrot::transformer::cuda_rotary {
namespace {

constexpr int kThreads = 256;
constexpr int kUnroll = 4;

using parrot::cuda::from_float;
using parrot::cuda::to_float;

struct Args {
  Heads in[3];
  Sizes sizes;
  Rotation rotation;
  float direction;
};

template <typename T>
__global__ void __launch_bounds__(kThreads)
    rotate_heads_kernel(const Args args, T* __restrict__ out) {
  const int head_dim = static_cast<int>(args.sizes.head_dim);
  const int heads = static_cast<int>(args.sizes.heads);
  const int all_heads = 3 * heads;
  const unsigned length = static_cast<unsigned>(args.sizes.length);
  const int64_t t = blockIdx.x % length;
  const int64_t b = blockIdx.x / length;
  T* const out_row = out + static_cast<int64_t>(blockIdx.x) * all_heads * head_dim;

  // Where head g (queries, then keys, then values) of this (batch, position) starts.
  const auto head_at = [&](int g) {
    const int part = g / heads;
    // Chosen by value: indexing the parameter array with a runtime index would copy it to local
    // memory.
    const Heads in = part == 0 ? args.in[0] : part == 1 ? args.in[1] : args.in[2];
    return static_cast<const T*>(in.data) + b * in.batch_stride +
           (g - part * heads) * in.head_stride + t * in.position_stride;
  };

  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    const float cos = args.rotation.cos[t * head_dim + d];
    const float sin = args.direction * args.rotation.sin[t * head_dim + d];
    const int64_t partner = args.rotation.partner[d];
    for (int first = threadIdx.y; first < all_heads; first += kUnroll * blockDim.y) {
      float x[kUnroll], x_partner[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int g = first + u * blockDim.y;
        if (g >= all_heads) break;
        const T* head = head_at(g);
        x[u] = to_float(head[d]);
        x_partner[u] = g < 2 * heads ? to_float(head[partner]) : 0.0f;
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int g = first + u * blockDim.y;
        if (g >= all_heads) break;
        const float value = g < 2 * heads ? x[u] * cos + x_partner[u] * sin : x[u];
        out_row[g * head_dim + d] = from_float<T>(value);
      }
    }
  }
}

template <typename T>
cudaError_t launch(const Args& args, void* out, cudaStream_t stream) {
  const int across =
      static_cast<int>(args.sizes.head_dim < kThreads ? args.sizes.head_dim : kThreads);
  const dim3 threads(across, kThreads / across);
  rotate_heads_kernel<T>
      <<<static_cast<unsigned>(args.sizes.batch * args.sizes.length), threads, 0, stream>>>(
          args, static_cast<T*>(out));
  return cudaGetLastError();
}

}  // namespace

cudaError_t rotate_heads(Dtype dtype, const Heads (&in)[3], const Sizes& sizes,
                         const Rotation& rotation, float direction, void* out,
                         cudaStream_t stream) {
  const int64_t rows = sizes.batch * sizes.length, width = 3 * sizes.heads * sizes.head_dim;
  if (rows == 0 || width == 0) return cudaSuccess;
  // A grid has at most 2^31 - 1 blocks across; a row's offsets are int.
  if (rows > INT32_MAX || width > INT32_MAX) return cudaErrorInvalidValue;
  const Args args{{in[0], in[1], in[2]}, sizes, rotation, direction};
  return dtype == Dtype::kBFloat16 ? launch<__nv_bfloat16>(args, out, stream)
                                   : launch<float>(args, out, stream);
}

}  // namespace parrot::transformer::cuda_rotary
