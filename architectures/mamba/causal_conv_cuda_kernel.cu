// Mamba's causal depthwise convolution and the SiLU after it, in one pass each way, reading the
// in-projection's [batch, length, channels] layout and writing the scan's [batch, channels,
// length]. LibTorch takes a copy into the convolution's layout, the convolution, the cut to its
// causal outputs and SiLU forward, and as many kernels backward, with the filter's gradient.
//
// A block of 32 x 8 threads serves one batch row and 32 channels, one tile of 32 positions after
// another. Each thread keeps one channel (threadIdx.x) and four consecutive positions of the tile
// in registers, with the filter's taps: the convolution is a sliding window over registers, and
// the loads of x, along channels, are a warp's 32 neighbouring addresses. The scan's layout runs
// along positions, so u (forward) and its gradient (backward) cross a shared tile, read or
// written along positions there. The filter's width is a template parameter, so that every
// window loop unrolls and all of a thread's loads are in flight at once. The backward recomputes
// the pre-activations for SiLU's derivative rather than reading them back.

#include "causal_conv_cuda_kernel.hpp"

#include <parrot/cuda_convert.cuh>

#include <algorithm>
#include <type_traits>

namespace parrot::mamba::cuda_conv {
namespace {

constexpr int kChannels = 32;        // per block: threadIdx.x
constexpr int kRows = 8;             // threadIdx.y
constexpr int kPer = 4;              // consecutive positions per thread
constexpr int kTile = kRows * kPer;  // positions per tile
constexpr int kThreads = kChannels * kRows;
// Blocks enough for a few on every SM. The tiles of a sequence go to at most as many blocks of
// one (batch row, 32 channels) as bring the grid to this; each block takes every gridDim.y-th
// tile and keeps one partial sum of the filter's gradient for all of them.
constexpr int64_t kEnoughBlocks = 4096;
static_assert(kEnoughBlocks <= 65535, "tile slots are the grid's y, which holds 65535");

using parrot::cuda::from_float;
using parrot::cuda::to_float;
using parrot::cuda::with_type;

struct Args {
  Input in;
  Filter filter;
  Sizes sizes;
};

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + __expf(-x)); }

// The thread's place: batch row b, channel c (valid or not), and the tiles of its block.
struct Place {
  int64_t b, c;
  bool valid;
  int64_t tiles;
};
__device__ Place place_of(const Sizes& sizes) {
  const unsigned channel_tiles =
      static_cast<unsigned>((sizes.channels + kChannels - 1) / kChannels);
  const int64_t c = static_cast<int64_t>(blockIdx.x % channel_tiles) * kChannels + threadIdx.x;
  return {blockIdx.x / channel_tiles, c, c < sizes.channels, (sizes.length + kTile - 1) / kTile};
}

// The thread's channel's taps and bias, zero past the last channel.
template <int kWidth>
__device__ void load_filter(const Filter& filter, const Place& p, float (&weight)[kWidth],
                            float& bias) {
#pragma unroll
  for (int k = 0; k < kWidth; ++k) weight[k] = p.valid ? filter.weight[p.c * kWidth + k] : 0.0f;
  bias = p.valid ? filter.bias[p.c] : 0.0f;
}

// x at positions [first, first + kCount) of the thread's channel, zero outside the sequence.
template <int kCount, typename T>
__device__ __forceinline__ void load_x(const Args& a, const Place& p, int64_t first,
                                       float (&x)[kCount]) {
  const T* const column = static_cast<const T*>(a.in.x) + p.b * a.in.batch_stride + p.c;
#pragma unroll
  for (int i = 0; i < kCount; ++i) {
    const int64_t t = first + i;
    x[i] =
        p.valid && t >= 0 && t < a.sizes.length ? to_float(column[t * a.in.position_stride]) : 0.0f;
  }
}

// The pre-activation whose first tap is x[i].
template <int kWidth, int kCount>
__device__ __forceinline__ float pre_activation(const float (&x)[kCount], int i,
                                                const float (&weight)[kWidth], float bias) {
  float pre = bias;
#pragma unroll
  for (int k = 0; k < kWidth; ++k) pre += weight[k] * x[i + k];
  return pre;
}

template <typename T, int kWidth>
__global__ void __launch_bounds__(kThreads) forward_kernel(const Args a, T* __restrict__ u) {
  __shared__ float u_tile[kChannels][kTile + 1];  // odd pitch: a warp's column is 32 banks
  const Place p = place_of(a.sizes);
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  float weight[kWidth], bias;
  load_filter(a.filter, p, weight, bias);
  // Where this thread writes u: a warp along positions of one channel.
  const int lane = threadIdx.x, row = threadIdx.y;
  const int64_t first_channel = p.c - threadIdx.x;
  T* const u_rows = u + (p.b * channels + first_channel) * length;

  for (int64_t tile = blockIdx.y; tile < p.tiles; tile += gridDim.y) {
    const int64_t t0 = tile * kTile;
    float x[kPer + kWidth - 1];
    load_x<kPer + kWidth - 1, T>(a, p, t0 + row * kPer - (kWidth - 1), x);
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const float pre = pre_activation(x, i, weight, bias);
      u_tile[threadIdx.x][row * kPer + i] = pre * sigmoid(pre);
    }
    __syncthreads();
    const int64_t t = t0 + lane;
    if (t < length) {
#pragma unroll
      for (int k = 0; k < kChannels / kRows; ++k) {
        const int ci = row + k * kRows;
        if (first_channel + ci < channels)
          u_rows[ci * length + t] = from_float<T>(u_tile[ci][lane]);
      }
    }
    __syncthreads();  // before the next tile overwrites u_tile
  }
}

// Four blocks an SM: at most 64 registers a thread, which width 4 (Mamba's) needs without spilling.
template <typename T, int kWidth>
__global__ void __launch_bounds__(kThreads, 4)
    backward_kernel(const Args a, const T* __restrict__ gu, T* __restrict__ gx,
                    float* __restrict__ partials) {
  constexpr int kHalo = kWidth - 1;
  // gu of the tile and of the kHalo positions after it, whose pre-activations reach back into it.
  // An odd pitch: a warp reading one position of 32 channels hits 32 banks.
  constexpr int kPitch = (kTile + kHalo) | 1;
  __shared__ float g_tile[kChannels][kPitch];
  __shared__ float partial[kRows][kWidth + 1][kChannels];
  const Place p = place_of(a.sizes);
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  float weight[kWidth], bias;
  load_filter(a.filter, p, weight, bias);
  const int lane = threadIdx.x, row = threadIdx.y;
  const int64_t first_channel = p.c - threadIdx.x;
  const T* const gu_rows = gu + (p.b * channels + first_channel) * length;
  T* const gx_column = gx + p.b * length * channels + p.c;

  float gweight[kWidth], gbias = 0.0f;
#pragma unroll
  for (int k = 0; k < kWidth; ++k) gweight[k] = 0.0f;
  for (int64_t tile = blockIdx.y; tile < p.tiles; tile += gridDim.y) {
    const int64_t t0 = tile * kTile, first = t0 + row * kPer;  // the thread's first position
    // Warps read gu along positions: each row's tile, then the halo columns after it.
#pragma unroll
    for (int k = 0; k < kChannels / kRows; ++k) {
      const int ci = row + k * kRows;
      const int64_t t = t0 + lane;
      g_tile[ci][lane] =
          first_channel + ci < channels && t < length ? to_float(gu_rows[ci * length + t]) : 0.0f;
    }
    if constexpr (kHalo > 0) {
      for (int i = row * kChannels + lane; i < kChannels * kHalo; i += kThreads) {
        const int ci = i / kHalo, j = kTile + i % kHalo;
        g_tile[ci][j] = first_channel + ci < channels && t0 + j < length
                            ? to_float(gu_rows[ci * length + t0 + j])
                            : 0.0f;
      }
    }
    // x for the pre-activations at [first, first + kPer + kHalo), each kHalo positions back.
    float x[kPer + 2 * kHalo];
    load_x<kPer + 2 * kHalo, T>(a, p, first - kHalo, x);
    __syncthreads();

    // Through SiLU: silu'(q) = s (1 + q (1 - s)) with s = sigmoid(q).
    float g[kPer + kHalo];
#pragma unroll
    for (int i = 0; i < kPer + kHalo; ++i) {
      const float pre = pre_activation(x, i, weight, bias);
      const float s = sigmoid(pre);
      g[i] = g_tile[threadIdx.x][row * kPer + i] * s * (1.0f + pre * (1.0f - s));
    }
    // x at `first + i` feeds the pre-activations at first + i to first + i + kHalo.
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      float sum = 0.0f;
#pragma unroll
      for (int k = 0; k < kWidth; ++k) {
        sum += weight[k] * g[i + kHalo - k];
        gweight[k] += g[i] * x[i + k];
      }
      gbias += g[i];
      if (p.valid && first + i < length) gx_column[(first + i) * channels] = from_float<T>(sum);
    }
    __syncthreads();  // before the next tile overwrites g_tile
  }

  // Each channel's kRows partial sums, added in order.
#pragma unroll
  for (int k = 0; k < kWidth; ++k) partial[row][k][lane] = gweight[k];
  partial[row][kWidth][lane] = gbias;
  __syncthreads();
  if (row != 0 || !p.valid) return;
  const int64_t piece = blockIdx.y * a.sizes.batch + p.b;
  float* const out = partials + piece * channels * (kWidth + 1);  // weight's, then bias's
#pragma unroll
  for (int k = 0; k <= kWidth; ++k) {
    float sum = 0.0f;
#pragma unroll
    for (int r = 0; r < kRows; ++r) sum += partial[r][k][lane];
    out[k < kWidth ? p.c * kWidth + k : channels * kWidth + p.c] = sum;
  }
}

// The (batch row, 32 channels) pairs: the grid's x.
int64_t columns_of(const Sizes& sizes) {
  return sizes.batch * ((sizes.channels + kChannels - 1) / kChannels);
}

// The tile slots of a (batch row, 32 channels): how many blocks share its sequence.
int64_t tile_slots(const Sizes& sizes) {
  const int64_t columns = columns_of(sizes);
  const int64_t tiles = (sizes.length + kTile - 1) / kTile;
  const int64_t wanted = columns > 0 ? (kEnoughBlocks + columns - 1) / columns : 1;
  return std::max<int64_t>(1, std::min(tiles, wanted));
}

// The grid for the sizes, or an empty one where a grid cannot hold them.
dim3 grid_for(const Sizes& sizes) {
  const int64_t columns = columns_of(sizes);
  if (columns > INT32_MAX) return dim3(0);
  return dim3(static_cast<unsigned>(columns), static_cast<unsigned>(tile_slots(sizes)));
}

bool valid(const Sizes& sizes) {
  return sizes.batch >= 0 && sizes.length >= 0 && sizes.channels >= 0 && sizes.width >= 1 &&
         sizes.width <= kMaxWidth;
}

// Calls f with the filter's width as a std::integral_constant: the kernels' instantiations, one
// for each width from kWidth up to kMaxWidth.
template <int kWidth = 1, typename F>
cudaError_t with_width(int64_t width, F&& f) {
  if constexpr (kWidth > kMaxWidth) {
    return cudaErrorInvalidValue;
  } else {
    if (width == kWidth) return f(std::integral_constant<int, kWidth>{});
    return with_width<kWidth + 1>(width, f);
  }
}

}  // namespace

int64_t partial_sums(const Sizes& sizes) { return tile_slots(sizes) * sizes.batch; }

cudaError_t forward(Dtype dtype, const Input& in, const Filter& filter, const Sizes& sizes, void* u,
                    cudaStream_t stream) {
  if (!valid(sizes)) return cudaErrorInvalidValue;
  if (sizes.batch == 0 || sizes.length == 0 || sizes.channels == 0) return cudaSuccess;
  const dim3 blocks = grid_for(sizes);
  if (blocks.x == 0) return cudaErrorInvalidValue;
  const Args args{in, filter, sizes};
  return with_type(dtype, [&](auto type) {
    using T = typename decltype(type)::type;
    return with_width(sizes.width, [&](auto width) {
      forward_kernel<T, decltype(width)::value>
          <<<blocks, dim3(kChannels, kRows), 0, stream>>>(args, static_cast<T*>(u));
      return cudaGetLastError();
    });
  });
}

cudaError_t backward(Dtype dtype, const Input& in, const Filter& filter, const Sizes& sizes,
                     const void* gu, void* gx, float* partials, cudaStream_t stream) {
  if (!valid(sizes) || sizes.batch == 0 || sizes.length == 0 || sizes.channels == 0)
    return cudaErrorInvalidValue;
  const dim3 blocks = grid_for(sizes);
  if (blocks.x == 0) return cudaErrorInvalidValue;
  const Args args{in, filter, sizes};
  return with_type(dtype, [&](auto type) {
    using T = typename decltype(type)::type;
    return with_width(sizes.width, [&](auto width) {
      backward_kernel<T, decltype(width)::value><<<blocks, dim3(kChannels, kRows), 0, stream>>>(
          args, static_cast<const T*>(gu), static_cast<T*>(gx), partials);
      return cudaGetLastError();
    });
  });
}

}  // namespace parrot::mamba::cuda_conv
