// Mamba's output gate, out = y^T * silu(z), in one pass each way, reading the scan's [batch,
// channels, length] layout and the in-projection's [batch, length, channels] and writing the
// out-projection's [batch, length, channels]. LibTorch takes SiLU, the product and a copy into
// the out-projection's layout forward, and as many kernels backward.
//
// A block of 32 x 8 threads serves one batch row and 64 channels, one tile of 64 positions after
// another. y and gy go through a shared tile, read and written along positions, and the tensors
// in [batch, length, channels] are read and written along channels, so that a warp's loads and
// stores all touch neighbouring addresses. Each thread takes pairs of neighbours, one access
// each where lengths, channel counts, strides and pointers allow (parrot/cuda_pair.cuh), and
// issues all of a tile's loads before it uses the first: in bfloat16 with single elements the
// gate ran no faster than in float. Tile rows are padded to 65 floats: a warp reading down two
// columns then hits every bank twice.

#include "silu_gate_cuda_kernel.hpp"

#include <parrot/cuda_pair.cuh>

#include <algorithm>

namespace parrot::mamba::cuda_gate {
namespace {

constexpr int kTile = 64;                     // channels, and positions, of a tile: 32 pairs
constexpr int kRows = 8;                      // threadIdx.y: 256 threads
constexpr int kPerThread = kTile / kRows;     // each thread's rows of a tile
constexpr int64_t kMaxPositionTiles = 65535;  // the grid's y; blocks take every gridDim.y-th tile

using parrot::cuda::load_pair;
using parrot::cuda::store_pair;
using parrot::cuda::with_type_and_pairs;

struct Args {
  const void* y;
  Gate z;
  Sizes sizes;
};

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + __expf(-x)); }

// The block's batch row and first channel, and the first of the thread's two channels when warps
// run along channels.
struct Place {
  int64_t b, c0, c;
};
__device__ Place place_of(const Sizes& sizes) {
  const unsigned tiles = static_cast<unsigned>((sizes.channels + kTile - 1) / kTile);
  const int64_t c0 = static_cast<int64_t>(blockIdx.x % tiles) * kTile;
  return {blockIdx.x / tiles, c0, c0 + 2 * threadIdx.x};
}

// The tile's y (channel row + k kRows, positions t0 + 2 threadIdx.x and the next): warps read
// along positions.
template <bool kPaired, typename T>
__device__ __forceinline__ void load_y(const Args& a, const Place& p, int64_t t0,
                                       float2 (&y)[kPerThread]) {
  const int64_t length = a.sizes.length, t = t0 + 2 * threadIdx.x;
  const T* const y_rows = static_cast<const T*>(a.y) + (p.b * a.sizes.channels + p.c0) * length;
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    const int ci = threadIdx.y + k * kRows;
    y[k] =
        load_pair<kPaired>(y_rows + ci * length + t, p.c0 + ci < a.sizes.channels ? length - t : 0);
  }
}

// A [batch, length, channels] tensor's tile (position t0 + row + k kRows, channels p.c and the
// next): warps read along channels.
template <bool kPaired, typename T>
__device__ __forceinline__ void load_along_channels(const T* rows, int64_t position_stride,
                                                    const Sizes& sizes, const Place& p, int64_t t0,
                                                    float2 (&v)[kPerThread]) {
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    const int64_t t = t0 + threadIdx.y + k * kRows;
    v[k] = load_pair<kPaired>(rows + t * position_stride + p.c,
                              t < sizes.length ? sizes.channels - p.c : 0);
  }
}

// y's pairs into the tile, a channel a row.
__device__ __forceinline__ void put_y(float (&tile)[kTile][kTile + 1],
                                      const float2 (&y)[kPerThread]) {
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    float* const row = tile[threadIdx.y + k * kRows];
    row[2 * threadIdx.x] = y[k].x;
    row[2 * threadIdx.x + 1] = y[k].y;
  }
}

// Four blocks an SM (64 registers a thread, 80 unbounded, which allowed three): at the paper's
// 8 x 220 the grid is 1024 blocks, and the more of them run at once the fewer the waves.
template <bool kPaired, typename T>
__global__ void __launch_bounds__(kTile / 2 * kRows, 4)
    forward_kernel(const Args a, T* __restrict__ out) {
  __shared__ float y_tile[kTile][kTile + 1];
  const Place p = place_of(a.sizes);
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  const T* const z_rows = static_cast<const T*>(a.z.z) + p.b * a.z.batch_stride;
  T* const out_rows = out + p.b * length * channels;
  for (int64_t t0 = blockIdx.y * int64_t{kTile}; t0 < length; t0 += gridDim.y * int64_t{kTile}) {
    float2 y[kPerThread], z[kPerThread];
    load_y<kPaired, T>(a, p, t0, y);
    load_along_channels<kPaired>(z_rows, a.z.position_stride, a.sizes, p, t0, z);
    put_y(y_tile, y);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const int j = threadIdx.y + k * kRows;
      const float2 gated = make_float2(y_tile[2 * threadIdx.x][j] * z[k].x * sigmoid(z[k].x),
                                       y_tile[2 * threadIdx.x + 1][j] * z[k].y * sigmoid(z[k].y));
      store_pair<kPaired>(out_rows + (t0 + j) * channels + p.c,
                          t0 + j < length ? channels - p.c : 0, gated);
    }
    __syncthreads();  // before the next tile overwrites y_tile
  }
}

// One element's gradients: returns z's, and leaves y's, gout silu(z), where y was read.
// silu'(z) = s (1 + z (1 - s)) with s = sigmoid(z).
__device__ __forceinline__ float gate_gradients(float gout, float z, float& y_then_gy) {
  const float s = sigmoid(z);
  const float gz = gout * y_then_gy * s * (1.0f + z * (1.0f - s));
  y_then_gy = gout * z * s;
  return gz;
}

// Three blocks an SM, at most 85 registers a thread (80 in pairs, without spilling; 124 unbounded,
// which allowed two), for the same reason.
template <bool kPaired, typename T>
__global__ void __launch_bounds__(kTile / 2 * kRows, 3)
    backward_kernel(const Args a, const T* __restrict__ gout, T* __restrict__ gy,
                    T* __restrict__ gz) {
  // y, then gy: each thread overwrites only the entries it has read.
  __shared__ float tile[kTile][kTile + 1];
  const Place p = place_of(a.sizes);
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  const T* const z_rows = static_cast<const T*>(a.z.z) + p.b * a.z.batch_stride;
  const T* const gout_rows = gout + p.b * length * channels;
  T* const gz_rows = gz + p.b * length * channels;
  T* const gy_rows = gy + (p.b * channels + p.c0) * length;
  for (int64_t t0 = blockIdx.y * int64_t{kTile}; t0 < length; t0 += gridDim.y * int64_t{kTile}) {
    float2 y[kPerThread], z[kPerThread], g[kPerThread];
    load_y<kPaired, T>(a, p, t0, y);
    load_along_channels<kPaired>(z_rows, a.z.position_stride, a.sizes, p, t0, z);
    load_along_channels<kPaired>(gout_rows, channels, a.sizes, p, t0, g);
    put_y(tile, y);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const int j = threadIdx.y + k * kRows;
      const float2 gz_pair =
          make_float2(gate_gradients(g[k].x, z[k].x, tile[2 * threadIdx.x][j]),
                      gate_gradients(g[k].y, z[k].y, tile[2 * threadIdx.x + 1][j]));
      store_pair<kPaired>(gz_rows + (t0 + j) * channels + p.c, t0 + j < length ? channels - p.c : 0,
                          gz_pair);
    }
    __syncthreads();
    // Warps write gy along positions.
    const int64_t t = t0 + 2 * threadIdx.x;
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const int ci = threadIdx.y + k * kRows;
      store_pair<kPaired>(gy_rows + ci * length + t, p.c0 + ci < channels ? length - t : 0,
                          make_float2(tile[ci][2 * threadIdx.x], tile[ci][2 * threadIdx.x + 1]));
    }
    __syncthreads();  // before the next tile overwrites the tile
  }
}

// Whether the sizes and z's strides allow pairs (with_type_and_pairs checks the pointers).
bool even(const Sizes& sizes, const Gate& z) {
  return sizes.length % 2 == 0 && sizes.channels % 2 == 0 && z.batch_stride % 2 == 0 &&
         z.position_stride % 2 == 0;
}

// The grid for the sizes, or an empty one where a grid cannot hold them.
dim3 grid_for(const Sizes& sizes) {
  const int64_t columns = sizes.batch * ((sizes.channels + kTile - 1) / kTile);
  const int64_t position_tiles = (sizes.length + kTile - 1) / kTile;
  if (columns > INT32_MAX) return dim3(0);
  return dim3(static_cast<unsigned>(columns),
              static_cast<unsigned>(std::min(position_tiles, kMaxPositionTiles)));
}

bool valid(const Sizes& sizes) {
  return sizes.batch >= 0 && sizes.length >= 0 && sizes.channels >= 0;
}

}  // namespace

cudaError_t forward(Dtype dtype, const void* y, const Gate& z, const Sizes& sizes, void* out,
                    cudaStream_t stream) {
  if (!valid(sizes)) return cudaErrorInvalidValue;
  if (sizes.batch == 0 || sizes.length == 0 || sizes.channels == 0) return cudaSuccess;
  const dim3 blocks = grid_for(sizes);
  if (blocks.x == 0) return cudaErrorInvalidValue;
  const Args args{y, z, sizes};
  return with_type_and_pairs(dtype, even(sizes, z), {y, z.z, out}, [&](auto type, auto pairs) {
    using T = typename decltype(type)::type;
    forward_kernel<decltype(pairs)::value, T>
        <<<blocks, dim3(kTile / 2, kRows), 0, stream>>>(args, static_cast<T*>(out));
    return cudaGetLastError();
  });
}

cudaError_t backward(Dtype dtype, const void* y, const Gate& z, const Sizes& sizes,
                     const void* gout, void* gy, void* gz, cudaStream_t stream) {
  if (!valid(sizes) || sizes.batch == 0 || sizes.length == 0 || sizes.channels == 0)
    return cudaErrorInvalidValue;
  const dim3 blocks = grid_for(sizes);
  if (blocks.x == 0) return cudaErrorInvalidValue;
  const Args args{y, z, sizes};
  return with_type_and_pairs(
      dtype, even(sizes, z), {y, z.z, gout, gy, gz}, [&](auto type, auto pairs) {
        using T = typename decltype(type)::type;
        backward_kernel<decltype(pairs)::value, T><<<blocks, dim3(kTile / 2, kRows), 0, stream>>>(
            args, static_cast<const T*>(gout), static_cast<T*>(gy), static_cast<T*>(gz));
        return cudaGetLastError();
      });
}

}  // namespace parrot::mamba::cuda_gate
