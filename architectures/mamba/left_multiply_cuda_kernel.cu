// The product behind Mamba's narrow projections in float, out[b] = weight x[b] for every batch
// row b, for weights with few rows and a long depth: x_proj's forward (128 rows from 2048
// channels) and dt_proj's input gradient (64 rows from 2048). At the paper's batch of 8 cuBLAS's
// batched SGEMM gets 11 to 18 TFLOP/s on these, against 44 to 51 at 64 x 512
// (bench/left_multiply_cuda_bench.cpp): their outputs are too small to keep the device busy
// unless the sums themselves are split. Here the sum over depth is split into slices that blocks
// take in parallel, each writing its partial product, and a second kernel adds the slices in a
// fixed order, so that every run gives the same bits.
//
// A block of 256 threads computes a 64 x 64 tile of out over its slice, staging 16 steps of depth
// at a time in shared memory: 16 x 64 of the weight and as much of x, both read along rows from
// global memory (the weight comes transposed for that). Each thread keeps a 4 x 4 piece of the
// tile in registers and reads its four weights and four x as two float4 per step of depth. The
// next stage's loads are issued before the current stage is computed.

#include "left_multiply_cuda_kernel.hpp"

#include <algorithm>

namespace parrot::mamba::cuda_product {
namespace {

constexpr int kTile = 64;                      // rows and columns of out per block
constexpr int kStage = 16;                     // depth per shared stage
constexpr int kThreads = 256;                  // 16 x 16 pieces of the tile
constexpr int kPiece = 4;                      // a thread's rows and columns
constexpr int kLoadRows = kThreads / kTile;    // depth rows a pass of loads covers
constexpr int kLoads = kStage / kLoadRows;     // loads of each operand per thread
constexpr int kPiecesPerRow = kTile / kPiece;  // 16
static_assert(kPiecesPerRow * kPiecesPerRow == kThreads);

struct Args {
  const float* weight_t;  // [depth, rows]
  const float* x;         // [batch, depth, columns]
  float* out;             // [batch, rows, columns]
  float* partials;        // [slices, batch, rows, columns], or nullptr for one slice
  Sizes sizes;
  Plan plan;
  int64_t row_tiles, column_tiles;
};

int64_t tiles_of(int64_t n) { return (n + kTile - 1) / kTile; }

__global__ void __launch_bounds__(kThreads) slice_kernel(const Args a) {
  __shared__ __align__(16) float weight_s[kStage][kTile];
  __shared__ __align__(16) float x_s[kStage][kTile];

  // Columns fastest: blocks in flight together share the weight's rows.
  int64_t block = blockIdx.x;
  const int64_t c0 = block % a.column_tiles * kTile;
  block /= a.column_tiles;
  const int64_t r0 = block % a.row_tiles * kTile;
  block /= a.row_tiles;
  const int64_t slice = block % a.plan.slices, b = block / a.plan.slices;
  const int64_t rows = a.sizes.rows, columns = a.sizes.columns;
  const int64_t k_begin = slice * a.plan.slice_depth;
  const int64_t k_end = min(k_begin + a.plan.slice_depth, a.sizes.depth);
  const float* const x = a.x + b * a.sizes.depth * columns;

  // Loads: consecutive threads take consecutive rows of the weight and columns of x.
  const int load_column = threadIdx.x % kTile, load_row = threadIdx.x / kTile;
  const bool row_in = r0 + load_column < rows, column_in = c0 + load_column < columns;
  float weight_next[kLoads], x_next[kLoads];
  const auto fetch = [&](int64_t k0) {
#pragma unroll
    for (int q = 0; q < kLoads; ++q) {
      const int64_t k = k0 + load_row + q * kLoadRows;
      weight_next[q] = k < k_end && row_in ? a.weight_t[k * rows + r0 + load_column] : 0.0f;
      x_next[q] = k < k_end && column_in ? x[k * columns + c0 + load_column] : 0.0f;
    }
  };

  const int piece_row = threadIdx.x / kPiecesPerRow * kPiece;
  const int piece_column = threadIdx.x % kPiecesPerRow * kPiece;
  float sum[kPiece][kPiece] = {};
  fetch(k_begin);
  for (int64_t k0 = k_begin; k0 < k_end; k0 += kStage) {
    __syncthreads();  // the stage before is computed
#pragma unroll
    for (int q = 0; q < kLoads; ++q) {
      weight_s[load_row + q * kLoadRows][load_column] = weight_next[q];
      x_s[load_row + q * kLoadRows][load_column] = x_next[q];
    }
    __syncthreads();
    if (k0 + kStage < k_end) fetch(k0 + kStage);
#pragma unroll
    for (int k = 0; k < kStage; ++k) {
      const float4 w = *reinterpret_cast<const float4*>(&weight_s[k][piece_row]);
      const float4 v = *reinterpret_cast<const float4*>(&x_s[k][piece_column]);
      const float weights[kPiece] = {w.x, w.y, w.z, w.w}, xs[kPiece] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int i = 0; i < kPiece; ++i)
#pragma unroll
        for (int j = 0; j < kPiece; ++j) sum[i][j] = fmaf(weights[i], xs[j], sum[i][j]);
    }
  }

  // One slice writes out; more write their partial products for add_slices_kernel.
  const int64_t outputs = a.sizes.batch * rows * columns;
#pragma unroll
  for (int i = 0; i < kPiece; ++i) {
    const int64_t r = r0 + piece_row + i;
    if (r >= rows) continue;
#pragma unroll
    for (int j = 0; j < kPiece; ++j) {
      const int64_t c = c0 + piece_column + j;
      if (c >= columns) continue;
      const int64_t at = (b * rows + r) * columns + c;
      if (a.partials)
        a.partials[slice * outputs + at] = sum[i][j];
      else
        a.out[at] = sum[i][j];
    }
  }
}

// out[i] = the sum of the slices' partials[s, i], s in order.
__global__ void add_slices_kernel(const float* __restrict__ partials, int64_t slices,
                                  int64_t outputs, float* __restrict__ out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < outputs;
       i += int64_t{gridDim.x} * blockDim.x) {
    float sum = 0.0f;
    for (int64_t s = 0; s < slices; ++s) sum += partials[s * outputs + i];
    out[i] = sum;
  }
}

bool valid(const Sizes& s) { return s.batch >= 1 && s.rows >= 1 && s.depth >= 1 && s.columns >= 1; }

}  // namespace

cudaError_t plan(const Sizes& s, Plan* out) {
  if (!valid(s)) return cudaErrorInvalidValue;
  int device = 0, sms = 0, blocks_per_sm = 0;
  if (const auto error = cudaGetDevice(&device)) return error;
  if (const auto error = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device))
    return error;
  if (const auto error =
          cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_sm, slice_kernel, kThreads, 0))
    return error;
  const int64_t tiles = s.batch * tiles_of(s.rows) * tiles_of(s.columns);
  const int64_t stages = (s.depth + kStage - 1) / kStage;
  // As many slices as fit the device's block slots in one wave: a second, part-filled wave
  // would take as long as the first.
  const int64_t slots = int64_t{blocks_per_sm} * sms;
  const int64_t wanted = std::clamp<int64_t>(slots / tiles, 1, stages);
  out->slice_depth = (stages + wanted - 1) / wanted * kStage;
  out->slices = (s.depth + out->slice_depth - 1) / out->slice_depth;
  return cudaSuccess;
}

int64_t partial_floats(const Sizes& s, const Plan& p) {
  return p.slices > 1 ? p.slices * s.batch * s.rows * s.columns : 0;
}

cudaError_t left_multiply(const float* weight_t, const float* x, const Sizes& sizes,
                          const Plan& plan, float* partials, float* out, cudaStream_t stream) {
  const bool covers_depth = plan.slices >= 1 && plan.slice_depth >= 1 &&
                            (plan.slices - 1) * plan.slice_depth < sizes.depth &&
                            plan.slices * plan.slice_depth >= sizes.depth;
  if (!valid(sizes) || !covers_depth || (plan.slices > 1 && partials == nullptr))
    return cudaErrorInvalidValue;
  const Args args{weight_t,
                  x,
                  out,
                  plan.slices > 1 ? partials : nullptr,
                  sizes,
                  plan,
                  tiles_of(sizes.rows),
                  tiles_of(sizes.columns)};
  const int64_t blocks = sizes.batch * args.row_tiles * args.column_tiles * plan.slices;
  if (blocks > INT32_MAX) return cudaErrorInvalidConfiguration;
  slice_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(args);
  if (plan.slices == 1) return cudaGetLastError();
  if (const auto error = cudaGetLastError()) return error;
  constexpr int kAddThreads = 256;
  const int64_t outputs = sizes.batch * sizes.rows * sizes.columns;
  const int64_t add_blocks = std::min<int64_t>((outputs + kAddThreads - 1) / kAddThreads, 1 << 16);
  add_slices_kernel<<<static_cast<unsigned>(add_blocks), kAddThreads, 0, stream>>>(
      partials, plan.slices, outputs, out);
  return cudaGetLastError();
}

}  // namespace parrot::mamba::cuda_product
