// Mamba's causal depthwise convolution and the SiLU after it, in one pass each way, reading the
// in-projection's [batch, length, channels] layout and writing the scan's [batch, channels,
// length]. LibTorch takes a copy into the convolution's layout, the convolution, the cut to its
// causal outputs and SiLU forward, and as many kernels backward, with the filter's gradient.
//
// A block of 32 x 8 threads serves one batch row and 64 channels, one tile of 32 positions after
// another. Each thread keeps two neighbouring channels (2 threadIdx.x and the next) and four
// consecutive positions of the tile in registers, with the filters' taps: the convolution is a
// sliding window over registers, and the loads of x, along channels, are a warp's 32
// neighbouring pairs. The scan's layout runs along positions, so u (forward) and its gradient
// (backward) cross a shared tile, read or written along positions there, in pairs too. A pair is
// one access where lengths, channel counts, strides and pointers allow (parrot/cuda_pair.cuh):
// in bfloat16 with single elements the kernels ran no faster than in float. The filter's width is a
// template parameter, so that every window loop unrolls and all of a thread's loads are in flight
// at once. The backward recomputes the pre-activations for SiLU's derivative rather than reading
// them back.

#include "causal_conv_cuda_kernel.hpp"

#include <parrot/cuda_pair.cuh>

#include <algorithm>
#include <type_traits>

namespace parrot::mamba::cuda_conv {
namespace {

constexpr int kLanes = 32;             // threadIdx.x
constexpr int kChannels = 2 * kLanes;  // per block: a pair a lane
constexpr int kRows = 8;               // threadIdx.y
constexpr int kPer = 4;                // consecutive positions per thread
constexpr int kTile = kRows * kPer;    // positions per tile
constexpr int kThreads = kLanes * kRows;
constexpr int kTilePairs = kChannels * kTile / 2 / kThreads;  // each thread's pairs of a tile row
// Blocks enough for a few on every SM. The tiles of a sequence go to at most as many blocks of
// one (batch row, 64 channels) as bring the grid to this; each block takes every gridDim.y-th
// tile and keeps one partial sum of the filter's gradient for all of them.
constexpr int64_t kEnoughBlocks = 4096;
static_assert(kEnoughBlocks <= 65535, "tile slots are the grid's y, which holds 65535");

using parrot::cuda::load_pair;
using parrot::cuda::store_pair;
using parrot::cuda::to_float;
using parrot::cuda::with_type_and_pairs;

struct Args {
  Input in;
  Filter filter;
  Sizes sizes;
};

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + __expf(-x)); }

// The thread's place: batch row b, first of its two channels c, the block's first channel, and
// the tiles of its block.
struct Place {
  int64_t b, c, c0, tiles;
};
__device__ Place place_of(const Sizes& sizes) {
  const unsigned channel_tiles =
      static_cast<unsigned>((sizes.channels + kChannels - 1) / kChannels);
  const int64_t c0 = static_cast<int64_t>(blockIdx.x % channel_tiles) * kChannels;
  return {blockIdx.x / channel_tiles, c0 + 2 * threadIdx.x, c0, (sizes.length + kTile - 1) / kTile};
}

// The taps and bias of the thread's channels, e = 0 and 1, zero past the last channel.
template <int kWidth>
__device__ void load_filter(const Filter& filter, const Sizes& sizes, const Place& p,
                            float (&weight)[2][kWidth], float (&bias)[2]) {
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    const bool valid = p.c + e < sizes.channels;
#pragma unroll
    for (int k = 0; k < kWidth; ++k)
      weight[e][k] = valid ? filter.weight[(p.c + e) * kWidth + k] : 0.0f;
    bias[e] = valid ? filter.bias[p.c + e] : 0.0f;
  }
}

// x at positions [first, first + kCount) of the thread's channels, zero outside the sequence.
template <int kCount, bool kPaired, typename T>
__device__ __forceinline__ void load_x(const Args& a, const Place& p, int64_t first,
                                       float2 (&x)[kCount]) {
  const T* const columns = static_cast<const T*>(a.in.x) + p.b * a.in.batch_stride + p.c;
#pragma unroll
  for (int i = 0; i < kCount; ++i) {
    const int64_t t = first + i;
    x[i] = load_pair<kPaired>(columns + t * a.in.position_stride,
                              t >= 0 && t < a.sizes.length ? a.sizes.channels - p.c : 0);
  }
}

// Channel e of a pair.
__device__ __forceinline__ float part(const float2& v, int e) { return e == 0 ? v.x : v.y; }

// The pre-activation of channel e whose first tap is x[i].
template <int kWidth, int kCount>
__device__ __forceinline__ float pre_activation(const float2 (&x)[kCount], int i, int e,
                                                const float (&weight)[2][kWidth],
                                                const float (&bias)[2]) {
  float pre = bias[e];
#pragma unroll
  for (int k = 0; k < kWidth; ++k) pre += weight[e][k] * part(x[i + k], e);
  return pre;
}

// The tile's pairs along positions, as warps read or write them in the scan's layout: pair k of
// the thread is row (channel) `channel` of the tile, positions 2 `pair` and the next.
struct TilePair {
  int channel, pair;
};
__device__ __forceinline__ TilePair tile_pair(int k) {
  const int i = threadIdx.x + kLanes * (threadIdx.y + kRows * k);
  return {i / (kTile / 2), i % (kTile / 2)};
}

// Four blocks an SM: at most 64 registers a thread, where Mamba's width 4 spills 4 to 12 bytes.
// Unbounded it took 76 in bf16 pairs, which allowed three.
template <bool kPaired, typename T, int kWidth>
__global__ void __launch_bounds__(kThreads, 4) forward_kernel(const Args a, T* __restrict__ u) {
  __shared__ float u_tile[kChannels][kTile + 1];  // odd pitch: a half-warp's pairs hit 32 banks
  const Place p = place_of(a.sizes);
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  float weight[2][kWidth], bias[2];
  load_filter(a.filter, a.sizes, p, weight, bias);
  const int row = threadIdx.y;
  T* const u_rows = u + (p.b * channels + p.c0) * length;

  for (int64_t tile = blockIdx.y; tile < p.tiles; tile += gridDim.y) {
    const int64_t t0 = tile * kTile;
    float2 x[kPer + kWidth - 1];
    load_x<kPer + kWidth - 1, kPaired, T>(a, p, t0 + row * kPer - (kWidth - 1), x);
#pragma unroll
    for (int e = 0; e < 2; ++e)
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const float pre = pre_activation(x, i, e, weight, bias);
        u_tile[2 * threadIdx.x + e][row * kPer + i] = pre * sigmoid(pre);
      }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTilePairs; ++k) {
      const TilePair at = tile_pair(k);
      const int64_t t = t0 + 2 * at.pair;
      const float* const from = u_tile[at.channel] + 2 * at.pair;
      store_pair<kPaired>(u_rows + at.channel * length + t,
                          p.c0 + at.channel < channels ? length - t : 0,
                          make_float2(from[0], from[1]));
    }
    __syncthreads();  // before the next tile overwrites u_tile
  }
}

// Three blocks an SM: at most 80 registers a thread, where width 4 (Mamba's) spills 16 bytes. Two
// blocks would take it without spilling (119 registers).
template <bool kPaired, typename T, int kWidth>
__global__ void __launch_bounds__(kThreads, 3)
    backward_kernel(const Args a, const T* __restrict__ gu, T* __restrict__ gx,
                    float* __restrict__ partials) {
  constexpr int kHalo = kWidth - 1;
  // gu of the tile and of the kHalo positions after it, whose pre-activations reach back into it.
  // An odd pitch: a warp reading one position of 64 channels hits every bank twice.
  constexpr int kPitch = (kTile + kHalo) | 1;
  __shared__ float g_tile[kChannels][kPitch];
  __shared__ float partial[kRows][kWidth + 1][kChannels];
  const Place p = place_of(a.sizes);
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  float weight[2][kWidth], bias[2];
  load_filter(a.filter, a.sizes, p, weight, bias);
  const int row = threadIdx.y;
  const T* const gu_rows = gu + (p.b * channels + p.c0) * length;
  T* const gx_columns = gx + p.b * length * channels + p.c;

  float gweight[2][kWidth], gbias[2] = {0.0f, 0.0f};
#pragma unroll
  for (int e = 0; e < 2; ++e)
#pragma unroll
    for (int k = 0; k < kWidth; ++k) gweight[e][k] = 0.0f;
  for (int64_t tile = blockIdx.y; tile < p.tiles; tile += gridDim.y) {
    const int64_t t0 = tile * kTile, first = t0 + row * kPer;  // the thread's first position
    // Warps read gu along positions: the tile's rows in pairs, then the halo columns after it.
#pragma unroll
    for (int k = 0; k < kTilePairs; ++k) {
      const TilePair at = tile_pair(k);
      const int64_t t = t0 + 2 * at.pair;
      const float2 pair = load_pair<kPaired>(gu_rows + at.channel * length + t,
                                             p.c0 + at.channel < channels ? length - t : 0);
      g_tile[at.channel][2 * at.pair] = pair.x;
      g_tile[at.channel][2 * at.pair + 1] = pair.y;
    }
    if constexpr (kHalo > 0) {
      for (int i = row * kLanes + threadIdx.x; i < kChannels * kHalo; i += kThreads) {
        const int ci = i / kHalo, j = kTile + i % kHalo;
        g_tile[ci][j] = p.c0 + ci < channels && t0 + j < length
                            ? to_float(gu_rows[ci * length + t0 + j])
                            : 0.0f;
      }
    }
    // x for the pre-activations at [first, first + kPer + kHalo), each kHalo positions back.
    float2 x[kPer + 2 * kHalo];
    load_x<kPer + 2 * kHalo, kPaired, T>(a, p, first - kHalo, x);
    __syncthreads();

    float sums[2][kPer];
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      // Through SiLU: silu'(q) = s (1 + q (1 - s)) with s = sigmoid(q).
      float g[kPer + kHalo];
#pragma unroll
      for (int i = 0; i < kPer + kHalo; ++i) {
        const float pre = pre_activation(x, i, e, weight, bias);
        const float s = sigmoid(pre);
        g[i] = g_tile[2 * threadIdx.x + e][row * kPer + i] * s * (1.0f + pre * (1.0f - s));
      }
      // x at `first + i` feeds the pre-activations at first + i to first + i + kHalo.
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        float sum = 0.0f;
#pragma unroll
        for (int k = 0; k < kWidth; ++k) {
          sum += weight[e][k] * g[i + kHalo - k];
          gweight[e][k] += g[i] * part(x[i + k], e);
        }
        gbias[e] += g[i];
        sums[e][i] = sum;
      }
    }
#pragma unroll
    for (int i = 0; i < kPer; ++i)
      store_pair<kPaired>(gx_columns + (first + i) * channels,
                          first + i < length ? channels - p.c : 0,
                          make_float2(sums[0][i], sums[1][i]));
    __syncthreads();  // before the next tile overwrites g_tile
  }

  // Each channel's kRows partial sums, added in order.
#pragma unroll
  for (int e = 0; e < 2; ++e) {
#pragma unroll
    for (int k = 0; k < kWidth; ++k) partial[row][k][2 * threadIdx.x + e] = gweight[e][k];
    partial[row][kWidth][2 * threadIdx.x + e] = gbias[e];
  }
  __syncthreads();
  if (row >= 2) return;
  // Rows 0 and 1 write the sums of the block's channels 0..31 and 32..63.
  const int ci = row * kLanes + threadIdx.x;
  const int64_t c = p.c0 + ci;
  if (c >= channels) return;
  const int64_t piece = blockIdx.y * a.sizes.batch + p.b;
  float* const out = partials + piece * channels * (kWidth + 1);  // weight's, then bias's
#pragma unroll
  for (int k = 0; k <= kWidth; ++k) {
    float sum = 0.0f;
#pragma unroll
    for (int r = 0; r < kRows; ++r) sum += partial[r][k][ci];
    out[k < kWidth ? c * kWidth + k : channels * kWidth + c] = sum;
  }
}

// The (batch row, 64 channels) columns: the grid's x.
int64_t columns_of(const Sizes& sizes) {
  return sizes.batch * ((sizes.channels + kChannels - 1) / kChannels);
}

// The tile slots of a (batch row, 64 channels): how many blocks share its sequence.
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

// Whether the sizes and x's strides allow pairs (with_type_and_pairs checks the pointers).
bool even(const Sizes& sizes, const Input& in) {
  return sizes.length % 2 == 0 && sizes.channels % 2 == 0 && in.batch_stride % 2 == 0 &&
         in.position_stride % 2 == 0;
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
  return with_type_and_pairs(dtype, even(sizes, in), {in.x, u}, [&](auto type, auto pairs) {
    using T = typename decltype(type)::type;
    return with_width(sizes.width, [&](auto width) {
      forward_kernel<decltype(pairs)::value, T, decltype(width)::value>
          <<<blocks, dim3(kLanes, kRows), 0, stream>>>(args, static_cast<T*>(u));
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
  return with_type_and_pairs(dtype, even(sizes, in), {in.x, gu, gx}, [&](auto type, auto pairs) {
    using T = typename decltype(type)::type;
    return with_width(sizes.width, [&](auto width) {
      backward_kernel<decltype(pairs)::value, T, decltype(width)::value>
          <<<blocks, dim3(kLanes, kRows), 0, stream>>>(args, static_cast<const T*>(gu),
                                                       static_cast<T*>(gx), partials);
      return cudaGetLastError();
    });
  });
}

}  // namespace parrot::mamba::cuda_conv
