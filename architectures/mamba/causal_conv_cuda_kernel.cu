// Mamba's causal depthwise convolution and the SiLU after it, in one pass each way, reading the
// in-projection's [batch, length, channels] layout and writing the scan's [batch, channels,
// length]. LibTorch takes a copy into the convolution's layout, the convolution, the cut to its
// causal outputs and SiLU forward, and as many kernels backward, with the filter's gradient:
// about 0.23 ms a layer at the paper's 8 x 220 in fp32 on an H200, of which these kernels saved
// 0.15 (docs/PERFORMANCE.md).
//
// One block per (batch row, 32 channels, segment of the sequence) walks its segment 32 positions
// at a time. Segments are as long as the sequence unless that leaves the device few blocks (the
// paper's 8 x 220 makes 512 of 256 threads): then the sequence splits. A tile goes
// through shared memory, read along channels and written along positions, so that a warp's loads
// and stores both touch neighbouring addresses. Tile rows are padded to 33 floats: a warp reading
// down a column then hits 32 different banks. The backward recomputes the pre-activations for
// SiLU's derivative rather than reading them back.

#include "causal_conv_cuda_kernel.hpp"

#include <parrot/cuda_convert.cuh>

#include <algorithm>

namespace parrot::mamba::cuda_conv {
namespace {

constexpr int kTile = 32;  // positions, and channels, of a tile: threadIdx.x
constexpr int kRows = 8;   // threadIdx.y: 256 threads
constexpr int kHalo = kMaxWidth - 1;
// Blocks enough for a few on every SM: fewer (batch rows x channel tiles) split the sequence.
constexpr int64_t kEnoughBlocks = 4096;
static_assert(kEnoughBlocks <= 65535, "segments are the grid's y, which holds 65535");

using parrot::cuda::from_float;
using parrot::cuda::to_float;

// How the sequence splits: `count` segments of `tiles` tiles each (the last one may be shorter).
struct Segments {
  int64_t count, tiles;
};

Segments segments_for(const Sizes& sizes) {
  const int64_t columns = sizes.batch * ((sizes.channels + kTile - 1) / kTile);
  const int64_t tiles = (sizes.length + kTile - 1) / kTile;
  const int64_t wanted = columns > 0 ? (kEnoughBlocks + columns - 1) / columns : 1;
  const int64_t per_segment = std::max<int64_t>(1, (tiles + wanted - 1) / wanted);
  return {std::max<int64_t>(1, (tiles + per_segment - 1) / per_segment), per_segment};
}

struct Args {
  Input in;
  Filter filter;
  Sizes sizes;
  Segments segments;
};

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + __expf(-x)); }

// The block's batch row, first channel and positions [begin, end).
struct BlockPlace {
  int64_t b;
  int c0;
  int64_t begin, end;
};
__device__ BlockPlace block_place(const Args& a) {
  const unsigned tiles = static_cast<unsigned>((a.sizes.channels + kTile - 1) / kTile);
  const int64_t begin = blockIdx.y * a.segments.tiles * kTile;
  return {blockIdx.x / tiles, static_cast<int>(blockIdx.x % tiles) * kTile, begin,
          min(begin + a.segments.tiles * kTile, a.sizes.length)};
}

// The block's filter taps and biases, zero past the last channel.
__device__ void load_filter(const Args& a, int c0, float (*weight)[kMaxWidth], float* bias) {
  const int width = static_cast<int>(a.sizes.width);
  for (int i = threadIdx.y * kTile + threadIdx.x; i < kTile * width; i += kTile * kRows) {
    const int ci = i / width, k = i % width;
    weight[ci][k] = c0 + ci < a.sizes.channels ? a.filter.weight[(c0 + ci) * width + k] : 0.0f;
  }
  if (threadIdx.y == 0) {
    const int c = c0 + threadIdx.x;
    bias[threadIdx.x] = c < a.sizes.channels ? a.filter.bias[c] : 0.0f;
  }
}

// x at positions [first, first + count) of the block's channels into tile[position][channel],
// zero outside the sequence and past the last channel. Warps read along channels.
template <typename T>
__device__ void load_x(const Args& a, const BlockPlace& place, int64_t first, int count,
                       float (*tile)[kTile + 1]) {
  const int c = place.c0 + threadIdx.x;
  const T* x = static_cast<const T*>(a.in.x) + place.b * a.in.batch_stride;
  for (int r = threadIdx.y; r < count; r += kRows) {
    const int64_t t = first + r;
    tile[r][threadIdx.x] = t >= 0 && t < a.sizes.length && c < a.sizes.channels
                               ? to_float(x[t * a.in.position_stride + c])
                               : 0.0f;
  }
}

// The pre-activation of channel ci at the position whose first tap is tile row `row`.
__device__ __forceinline__ float pre_activation(const float (*tile)[kTile + 1], int row, int ci,
                                                const float (*weight)[kMaxWidth], const float* bias,
                                                int width) {
  float pre = bias[ci];
  for (int k = 0; k < width; ++k) pre += weight[ci][k] * tile[row + k][ci];
  return pre;
}

template <typename T>
__global__ void __launch_bounds__(kTile* kRows) forward_kernel(const Args a, T* __restrict__ u) {
  __shared__ float x_tile[kTile + kHalo][kTile + 1];
  __shared__ float weight[kTile][kMaxWidth];
  __shared__ float bias[kTile];
  const BlockPlace place = block_place(a);
  const int width = static_cast<int>(a.sizes.width), halo = width - 1;
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  load_filter(a, place.c0, weight, bias);
  T* const u_row = u + place.b * channels * length;

  for (int64_t t0 = place.begin; t0 < place.end; t0 += kTile) {
    __syncthreads();  // the filter is loaded, the previous tile used
    load_x<T>(a, place, t0 - halo, kTile + halo, x_tile);
    __syncthreads();
    // Warps write along positions.
    const int64_t t = t0 + threadIdx.x;
    if (t >= place.end) continue;
    for (int ci = threadIdx.y; ci < kTile && place.c0 + ci < channels; ci += kRows) {
      const float pre = pre_activation(x_tile, threadIdx.x, ci, weight, bias, width);
      u_row[(place.c0 + ci) * length + t] = from_float<T>(pre * sigmoid(pre));
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kTile* kRows)
    backward_kernel(const Args a, const T* __restrict__ gu, T* __restrict__ gx,
                    float* __restrict__ gweight_part, float* __restrict__ gbias_part) {
  // The tile's gx at [t0, t0 + kTile) takes the pre-activations' gradients up to halo positions
  // later, and each of those pre-activations x up to halo positions earlier.
  __shared__ float x_tile[kTile + 2 * kHalo][kTile + 1];
  __shared__ float g_tile[kTile + kHalo][kTile + 1];
  __shared__ float weight[kTile][kMaxWidth];
  __shared__ float bias[kTile];
  __shared__ float partial[kRows][kMaxWidth + 1][kTile];
  const BlockPlace place = block_place(a);
  const int width = static_cast<int>(a.sizes.width), halo = width - 1;
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  load_filter(a, place.c0, weight, bias);
  const T* const gu_row = gu + place.b * channels * length;
  T* const gx_row = gx + place.b * length * channels;

  // In the last phase each thread has one channel and every kRows-th position.
  const int ci = threadIdx.x;
  const int64_t c = place.c0 + ci;
  float taps[kMaxWidth], gweight[kMaxWidth], gbias = 0.0f;
  __syncthreads();
#pragma unroll
  for (int k = 0; k < kMaxWidth; ++k) {
    taps[k] = k < width ? weight[ci][k] : 0.0f;
    gweight[k] = 0.0f;
  }

  for (int64_t t0 = place.begin; t0 < place.end; t0 += kTile) {
    __syncthreads();  // the previous tile used
    load_x<T>(a, place, t0 - halo, kTile + 2 * halo, x_tile);
    // gu along positions, zero past the end (but not past the segment's: gx here needs them).
    for (int row = threadIdx.y; row < kTile && place.c0 + row < channels; row += kRows)
      for (int j = threadIdx.x; j < kTile + halo; j += kTile)
        g_tile[j][row] =
            t0 + j < length ? to_float(gu_row[(place.c0 + row) * length + t0 + j]) : 0.0f;
    __syncthreads();
    // Through SiLU: silu'(p) = s (1 + p (1 - s)) with s = sigmoid(p).
    for (int row = threadIdx.y; row < kTile && place.c0 + row < channels; row += kRows)
      for (int j = threadIdx.x; j < kTile + halo; j += kTile) {
        const float pre = pre_activation(x_tile, j, row, weight, bias, width);
        const float s = sigmoid(pre);
        g_tile[j][row] *= s * (1.0f + pre * (1.0f - s));
      }
    __syncthreads();
    // Warps write gx along channels and sum the filter's gradient along positions.
    if (c >= channels) continue;
    for (int j = threadIdx.y; j < kTile && t0 + j < place.end; j += kRows) {
      float sum = 0.0f;
#pragma unroll
      for (int k = 0; k < kMaxWidth; ++k) {
        if (k >= width) break;
        sum += taps[k] * g_tile[j + halo - k][ci];
        gweight[k] += g_tile[j][ci] * x_tile[j + k][ci];
      }
      gbias += g_tile[j][ci];
      gx_row[(t0 + j) * channels + c] = from_float<T>(sum);
    }
  }

  // Each channel's kRows partial sums, added in order.
#pragma unroll
  for (int k = 0; k < kMaxWidth; ++k) partial[threadIdx.y][k][ci] = gweight[k];
  partial[threadIdx.y][kMaxWidth][ci] = gbias;
  __syncthreads();
  if (threadIdx.y != 0 || c >= channels) return;
  const int64_t piece = blockIdx.y * a.sizes.batch + place.b;
  float* const out = gweight_part + (piece * channels + c) * width;
  for (int k = 0; k < width; ++k) {
    float sum = 0.0f;
    for (int r = 0; r < kRows; ++r) sum += partial[r][k][ci];
    out[k] = sum;
  }
  float bias_sum = 0.0f;
  for (int r = 0; r < kRows; ++r) bias_sum += partial[r][kMaxWidth][ci];
  gbias_part[piece * channels + c] = bias_sum;
}

// The grid for the sizes, or an empty one where a grid cannot hold them.
dim3 grid_for(const Sizes& sizes, const Segments& segments) {
  const int64_t columns = sizes.batch * ((sizes.channels + kTile - 1) / kTile);
  if (columns > INT32_MAX) return dim3(0);
  return dim3(static_cast<unsigned>(columns), static_cast<unsigned>(segments.count));
}

bool valid(const Sizes& sizes) {
  return sizes.batch >= 0 && sizes.length >= 0 && sizes.channels >= 0 && sizes.width >= 1 &&
         sizes.width <= kMaxWidth;
}

}  // namespace

int64_t partial_sums(const Sizes& sizes) { return segments_for(sizes).count * sizes.batch; }

cudaError_t forward(Dtype dtype, const Input& in, const Filter& filter, const Sizes& sizes, void* u,
                    cudaStream_t stream) {
  if (!valid(sizes)) return cudaErrorInvalidValue;
  if (sizes.batch == 0 || sizes.length == 0 || sizes.channels == 0) return cudaSuccess;
  const Args args{in, filter, sizes, segments_for(sizes)};
  const dim3 blocks = grid_for(sizes, args.segments);
  if (blocks.x == 0) return cudaErrorInvalidValue;
  const dim3 threads(kTile, kRows);
  if (dtype == Dtype::kBFloat16)
    forward_kernel<<<blocks, threads, 0, stream>>>(args, static_cast<__nv_bfloat16*>(u));
  else
    forward_kernel<<<blocks, threads, 0, stream>>>(args, static_cast<float*>(u));
  return cudaGetLastError();
}

cudaError_t backward(Dtype dtype, const Input& in, const Filter& filter, const Sizes& sizes,
                     const void* gu, void* gx, float* gweight_part, float* gbias_part,
                     cudaStream_t stream) {
  if (!valid(sizes) || sizes.batch == 0 || sizes.length == 0 || sizes.channels == 0)
    return cudaErrorInvalidValue;
  const Args args{in, filter, sizes, segments_for(sizes)};
  const dim3 blocks = grid_for(sizes, args.segments);
  if (blocks.x == 0) return cudaErrorInvalidValue;
  const dim3 threads(kTile, kRows);
  if (dtype == Dtype::kBFloat16)
    backward_kernel<<<blocks, threads, 0, stream>>>(args, static_cast<const __nv_bfloat16*>(gu),
                                                    static_cast<__nv_bfloat16*>(gx), gweight_part,
                                                    gbias_part);
  else
    backward_kernel<<<blocks, threads, 0, stream>>>(
        args, static_cast<const float*>(gu), static_cast<float*>(gx), gweight_part, gbias_part);
  return cudaGetLastError();
}

}  // namespace parrot::mamba::cuda_conv
