// Mamba's output gate, out = y^T * silu(z), in one pass each way, reading the scan's [batch,
// channels, length] layout and the in-projection's [batch, length, channels] and writing the
// out-projection's [batch, length, channels]. LibTorch takes SiLU, the product and a copy into
// the out-projection's layout forward, and as many kernels backward.
//
// One block per (batch row, 32 channels, 32 positions). y and gy go through a shared tile, read
// and written along positions, and the tensors in [batch, length, channels] are read and written
// along channels, so that a warp's loads and stores all touch neighbouring addresses. Tile rows
// are padded to 33 floats: a warp reading down a column then hits 32 different banks.

#include "silu_gate_cuda_kernel.hpp"

#include <parrot/cuda_convert.cuh>

namespace parrot::mamba::cuda_gate {
namespace {

constexpr int kTile = 32;                     // channels, and positions, of a tile: threadIdx.x
constexpr int kRows = 8;                      // threadIdx.y: 256 threads
constexpr int64_t kMaxPositionTiles = 65535;  // the grid's y

using parrot::cuda::from_float;
using parrot::cuda::to_float;

struct Args {
  const void* y;
  Gate z;
  Sizes sizes;
};

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + __expf(-x)); }

// The block's batch row, first channel and first position.
struct BlockPlace {
  int64_t b;
  int c0;
  int64_t t0;
};
__device__ BlockPlace block_place(const Sizes& sizes) {
  const unsigned tiles = static_cast<unsigned>((sizes.channels + kTile - 1) / kTile);
  return {blockIdx.x / tiles, static_cast<int>(blockIdx.x % tiles) * kTile,
          static_cast<int64_t>(blockIdx.y) * kTile};
}

// The block's y into tile[channel][position]. Warps read along positions.
template <typename T>
__device__ void load_y(const Args& a, const BlockPlace& place, float (*tile)[kTile + 1]) {
  const int64_t length = a.sizes.length, t = place.t0 + threadIdx.x;
  if (t >= length) return;
  const T* const y_row = static_cast<const T*>(a.y) + place.b * a.sizes.channels * length;
  for (int ci = threadIdx.y; ci < kTile && place.c0 + ci < a.sizes.channels; ci += kRows)
    tile[ci][threadIdx.x] = to_float(y_row[(place.c0 + ci) * length + t]);
}

template <typename T>
__global__ void __launch_bounds__(kTile* kRows) forward_kernel(const Args a, T* __restrict__ out) {
  __shared__ float y_tile[kTile][kTile + 1];
  const BlockPlace place = block_place(a.sizes);
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  load_y<T>(a, place, y_tile);
  __syncthreads();
  // Warps read z and write out along channels.
  const int64_t c = place.c0 + threadIdx.x;
  if (c >= channels) return;
  const T* const z = static_cast<const T*>(a.z.z) + place.b * a.z.batch_stride;
  T* const out_row = out + place.b * length * channels;
  for (int j = threadIdx.y; j < kTile && place.t0 + j < length; j += kRows) {
    const int64_t t = place.t0 + j;
    const float gate = to_float(z[t * a.z.position_stride + c]);
    out_row[t * channels + c] = from_float<T>(y_tile[threadIdx.x][j] * gate * sigmoid(gate));
  }
}

template <typename T>
__global__ void __launch_bounds__(kTile* kRows)
    backward_kernel(const Args a, const T* __restrict__ gout, T* __restrict__ gy,
                    T* __restrict__ gz) {
  // y, then gy: each thread overwrites only the entries it has read.
  __shared__ float tile[kTile][kTile + 1];
  const BlockPlace place = block_place(a.sizes);
  const int64_t length = a.sizes.length, channels = a.sizes.channels;
  load_y<T>(a, place, tile);
  __syncthreads();
  // Warps read z and gout and write gz along channels. silu'(z) = s (1 + z (1 - s)) with
  // s = sigmoid(z).
  const int64_t c = place.c0 + threadIdx.x;
  if (c < channels) {
    const T* const z = static_cast<const T*>(a.z.z) + place.b * a.z.batch_stride;
    const T* const gout_row = gout + place.b * length * channels;
    T* const gz_row = gz + place.b * length * channels;
    for (int j = threadIdx.y; j < kTile && place.t0 + j < length; j += kRows) {
      const int64_t t = place.t0 + j;
      const float gate = to_float(z[t * a.z.position_stride + c]);
      const float g = to_float(gout_row[t * channels + c]);
      const float s = sigmoid(gate);
      gz_row[t * channels + c] =
          from_float<T>(g * tile[threadIdx.x][j] * s * (1.0f + gate * (1.0f - s)));
      tile[threadIdx.x][j] = g * gate * s;
    }
  }
  __syncthreads();
  // Warps write gy along positions.
  const int64_t t = place.t0 + threadIdx.x;
  if (t >= length) return;
  T* const gy_row = gy + place.b * channels * length;
  for (int ci = threadIdx.y; ci < kTile && place.c0 + ci < channels; ci += kRows)
    gy_row[(place.c0 + ci) * length + t] = from_float<T>(tile[ci][threadIdx.x]);
}

// The grid for the sizes, or an empty one where a grid cannot hold them.
dim3 grid_for(const Sizes& sizes) {
  const int64_t columns = sizes.batch * ((sizes.channels + kTile - 1) / kTile);
  const int64_t position_tiles = (sizes.length + kTile - 1) / kTile;
  if (columns > INT32_MAX || position_tiles > kMaxPositionTiles) return dim3(0);
  return dim3(static_cast<unsigned>(columns), static_cast<unsigned>(position_tiles));
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
  const dim3 threads(kTile, kRows);
  if (dtype == Dtype::kBFloat16)
    forward_kernel<<<blocks, threads, 0, stream>>>(args, static_cast<__nv_bfloat16*>(out));
  else
    forward_kernel<<<blocks, threads, 0, stream>>>(args, static_cast<float*>(out));
  return cudaGetLastError();
}

cudaError_t backward(Dtype dtype, const void* y, const Gate& z, const Sizes& sizes,
                     const void* gout, void* gy, void* gz, cudaStream_t stream) {
  if (!valid(sizes) || sizes.batch == 0 || sizes.length == 0 || sizes.channels == 0)
    return cudaErrorInvalidValue;
  const dim3 blocks = grid_for(sizes);
  if (blocks.x == 0) return cudaErrorInvalidValue;
  const Args args{y, z, sizes};
  const dim3 threads(kTile, kRows);
  if (dtype == Dtype::kBFloat16)
    backward_kernel<<<blocks, threads, 0, stream>>>(args, static_cast<const __nv_bfloat16*>(gout),
                                                    static_cast<__nv_bfloat16*>(gy),
                                                    static_cast<__nv_bfloat16*>(gz));
  else
    backward_kernel<<<blocks, threads, 0, stream>>>(
        args, static_cast<const float*>(gout), static_cast<float*>(gy), static_cast<float*>(gz));
  return cudaGetLastError();
}

}  // namespace parrot::mamba::cuda_gate
