// Mamba's output gate, out = y^T * silu(z), in one pass each way, reading the scan's [batch,
// channels, length] layout and the in-projection's [batch, length, channels] and writing the
// out-projection's [batch, length, channels]. LibTorch takes SiLU, the product and a copy into
// the out-projection's layout forward, and as many kernels backward.
//
// A block of 32 x 8 threads serves one batch row and 32 channels, one tile of 32 positions after
// another. y and gy go through a shared tile, read and written along positions, and the tensors
// in [batch, length, channels] are read and written along channels, so that a warp's loads and
// stores all touch neighbouring addresses. Every thread issues all of a tile's loads before it
// uses the first. Tile rows are padded to 33 floats: a warp reading down a column then hits 32
// different banks.

#include "silu_gate_cuda_kernel.hpp"

#include <parrot/cuda_convert.cuh>

#include <algorithm>

namespace parrot::mamba::cuda_gate {
namespace {

constexpr int kTile = 32;                     // channels, and positions, of a tile: threadIdx.x
constexpr int kRows = 8;                      // threadIdx.y: 256 threads
constexpr int kPerThread = kTile / kRows;     // each thread's rows of a tile
constexpr int64_t kMaxPositionTiles = 65535;  // the grid's y; blocks take every gridDim.y-th tile

using parrot::cuda::from_float;
using parrot::cuda::to_float;
using parrot::cuda::with_type;

struct Args {
  const void* y;
  Gate z;
  Sizes sizes;
};

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + __expf(-x)); }

// The block's batch row and first channel, and the thread's channel when warps run along
// channels.
struct Place {
  int64_t b, c0, c;
};
__device__ Place place_of(const Sizes& sizes) {
  const unsigned tiles = static_cast<unsigned>((sizes.channels + kTile - 1) / kTile);
  const int64_t c0 = static_cast<int64_t>(blockIdx.x % tiles) * kTile;
  return {blockIdx.x / tiles, c0, c0 + threadIdx.x};
}

// The tile's y (channel row + k kRows, position threadIdx.x): warps read along positions.
template <typename T>
__device__ __forceinline__ void load_y(const Args& a, const Place& p, int64_t t0,
                                       float (&y)[kPerThread]) {
  const int64_t length = a.sizes.length, t = t0 + threadIdx.x;
  const T* const y_rows = static_cast<const T*>(a.y) + (p.b * a.sizes.channels + p.c0) * length;
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    const int ci = threadIdx.y + k * kRows;
    y[k] = p.c0 + ci < a.sizes.channels && t < length ? to_float(y_rows[ci * length + t]) : 0.0f;
  }
}

// A [batch, length, channels] tensor's tile (position t0 + row + k kRows, channel threadIdx.x):
// warps read along channels.
template <typename T>
__device__ __forceinline__ void load_along_channels(const T* rows, int64_t position_stride,
                                                    const Sizes& sizes, const Place& p, int64_t t0,
                                                    float (&v)[kPerThread]) {
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    const int64_t t = t0 + threadIdx.y + k * kRows;
    v[k] =
        p.c < sizes.channels && t < sizes.length ? to_float(rows[t * position_stride + p.c]) : 0.0f;
  }
}

template <typename T>
__global__ void __launch_bounds__(kTile* kRows) forward_kernel(const Args a, T* __restrict__ out) {
  __shared__ float y_tile[kTile][kTile + 1];
  const Place p = place_of(a.sizes);
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  const T* const z_rows = static_cast<const T*>(a.z.z) + p.b * a.z.batch_stride;
  T* const out_rows = out + p.b * length * channels;
  for (int64_t t0 = blockIdx.y * int64_t{kTile}; t0 < length; t0 += gridDim.y * int64_t{kTile}) {
    float y[kPerThread], z[kPerThread];
    load_y<T>(a, p, t0, y);
    load_along_channels(z_rows, a.z.position_stride, a.sizes, p, t0, z);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) y_tile[threadIdx.y + k * kRows][threadIdx.x] = y[k];
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const int j = threadIdx.y + k * kRows;
      if (p.c < channels && t0 + j < length)
        out_rows[(t0 + j) * channels + p.c] =
            from_float<T>(y_tile[threadIdx.x][j] * z[k] * sigmoid(z[k]));
    }
    __syncthreads();  // before the next tile overwrites y_tile
  }
}

template <typename T>
__global__ void __launch_bounds__(kTile* kRows)
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
    float y[kPerThread], z[kPerThread], g[kPerThread];
    load_y<T>(a, p, t0, y);
    load_along_channels(z_rows, a.z.position_stride, a.sizes, p, t0, z);
    load_along_channels(gout_rows, channels, a.sizes, p, t0, g);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) tile[threadIdx.y + k * kRows][threadIdx.x] = y[k];
    __syncthreads();
    // silu'(z) = s (1 + z (1 - s)) with s = sigmoid(z).
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const int j = threadIdx.y + k * kRows;
      const float s = sigmoid(z[k]);
      if (p.c < channels && t0 + j < length)
        gz_rows[(t0 + j) * channels + p.c] =
            from_float<T>(g[k] * tile[threadIdx.x][j] * s * (1.0f + z[k] * (1.0f - s)));
      tile[threadIdx.x][j] = g[k] * z[k] * s;
    }
    __syncthreads();
    // Warps write gy along positions.
    const int64_t t = t0 + threadIdx.x;
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const int ci = threadIdx.y + k * kRows;
      if (p.c0 + ci < channels && t < length)
        gy_rows[ci * length + t] = from_float<T>(tile[ci][threadIdx.x]);
    }
    __syncthreads();  // before the next tile overwrites the tile
  }
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
  return with_type(dtype, [&](auto type) {
    using T = typename decltype(type)::type;
    forward_kernel<<<blocks, dim3(kTile, kRows), 0, stream>>>(args, static_cast<T*>(out));
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
  return with_type(dtype, [&](auto type) {
    using T = typename decltype(type)::type;
    backward_kernel<<<blocks, dim3(kTile, kRows), 0, stream>>>(
        args, static_cast<const T*>(gout), static_cast<T*>(gy), static_cast<T*>(gz));
    return cudaGetLastError();
  });
}

}  // namespace parrot::mamba::cuda_gate
