// The gradient of a narrow projection's weight in bfloat16, gradient = sum over batch rows b of
// g[b] x[b]^T: [rows, depth] from g [batch, rows, columns] and x [batch, depth, columns]. For
// x_proj (128 rows from 2048 channels) and dt_proj (2048 rows from 64) at the paper's 8 x 220
// cuBLAS ran a batched product into [batch, rows, depth] and then a sum over batch rows: 64 x 64
// tiles of the output number 64 and 32, too few for the device, each summing over 220 columns.
// Here the sum runs over batch x columns as one long depth, split into slices that blocks take in
// parallel, and add_slices() adds them in a fixed order, so that every run gives the same bits.
// The result is float, rounded once.
//
// A block of four warps computes a 64 x 64 tile of the gradient over its slice, 32 steps of the
// sum at a time, staged in shared memory as they lie in global memory, along the sum: g's rows
// [r][step] and x's [k][step]. Each warp takes a 32 x 32 quarter on tensor cores (mma_bf16.cuh):
// per 16 steps, two 16 x 16 pieces of g and four 16 x 8 of x, read by ldmatrix untransposed.

#include "weight_gradient_cuda_kernel.hpp"

#include <cuda_bf16.h>

#include "mma_bf16.cuh"
#include "slice_sum.cuh"

namespace parrot::mamba::cuda_product {
namespace {

constexpr int kTile = 64;      // rows and columns of the gradient per block
constexpr int kStage = 32;     // steps of the sum per shared stage
constexpr int kThreads = 128;  // four warps, 2 x 2 quarters of the tile
constexpr int kQuarter = kTile / 2;
constexpr int kLoadRows = kThreads / kStage;  // rows a pass of loads covers
constexpr int kLoads = kTile / kLoadRows;     // loads of each operand per thread
constexpr int kPitch = kStage + 8;  // 80 bytes a row: ldmatrix's eight rows fall in different banks

struct Args {
  const __nv_bfloat16* g;  // [batch, rows, columns]
  const __nv_bfloat16* x;  // [batch, depth, columns]
  float* gradient;         // [rows, depth]
  float* partials;         // [slices, rows, depth], or nullptr for one slice
  Sizes sizes;
  Plan plan;
  int64_t row_tiles, depth_tiles;
};

int64_t tiles_of(int64_t n) { return (n + kTile - 1) / kTile; }

__global__ void __launch_bounds__(kThreads) slice_kernel(const Args a) {
  __shared__ __align__(16) __nv_bfloat16 g_s[kTile][kPitch];  // [r][step]
  __shared__ __align__(16) __nv_bfloat16 x_s[kTile][kPitch];  // [k][step]

  // The gradient's columns (x's depth) fastest: blocks in flight together share g's rows.
  int64_t block = blockIdx.x;
  const int64_t k0 = block % a.depth_tiles * kTile;
  block /= a.depth_tiles;
  const int64_t r0 = block % a.row_tiles * kTile, slice = block / a.row_tiles;
  const int64_t rows = a.sizes.rows, depth = a.sizes.depth, columns = a.sizes.columns;
  const int64_t p_begin = slice * a.plan.slice_depth;
  const int64_t p_end = min(p_begin + a.plan.slice_depth, a.sizes.batch * columns);

  // Loads: a warp reads 32 consecutive steps of one row of g and of x; step p is column p % columns
  // of batch row p / columns.
  const int load_step = threadIdx.x % kStage, load_row = threadIdx.x / kStage;
  const __nv_bfloat16 zero = __float2bfloat16_rn(0.0f);
  __nv_bfloat16 g_next[kLoads], x_next[kLoads];
  const auto fetch = [&](int64_t p0) {
    const int64_t p = p0 + load_step, b = p / columns, c = p - b * columns;
    const bool in_sum = p < p_end;
    const __nv_bfloat16* const g_column = a.g + b * rows * columns + c;
    const __nv_bfloat16* const x_column = a.x + b * depth * columns + c;
#pragma unroll
    for (int q = 0; q < kLoads; ++q) {
      const int row = load_row + q * kLoadRows;
      g_next[q] = in_sum && r0 + row < rows ? g_column[(r0 + row) * columns] : zero;
      x_next[q] = in_sum && k0 + row < depth ? x_column[(k0 + row) * columns] : zero;
    }
  };

  // The warp's quarter, and where lane l's rows for ldmatrix start. g's pieces: matrices 0 to 3
  // are rows r..r+7 and r+8..r+15 of steps s..s+7, then the same of s+8..s+15 (mma's a[0] to
  // a[3]). x's: steps s..s+7 and s+8..s+15 of columns k..k+7 (b0 and b1), then of k+8..k+15.
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int quarter_row = warp / 2 * kQuarter, quarter_column = warp % 2 * kQuarter;
  const int g_row = lane % 8 + lane / 8 % 2 * 8, g_step = lane / 16 * 8;
  const int x_row = lane % 8 + lane / 16 * 8, x_step = lane / 8 % 2 * 8;
  mma::Quarter quarter;
  fetch(p_begin);
  for (int64_t p0 = p_begin; p0 < p_end; p0 += kStage) {
    __syncthreads();  // the stage before is computed
#pragma unroll
    for (int q = 0; q < kLoads; ++q) {
      g_s[load_row + q * kLoadRows][load_step] = g_next[q];
      x_s[load_row + q * kLoadRows][load_step] = x_next[q];
    }
    __syncthreads();
    if (p0 + kStage < p_end) fetch(p0 + kStage);
#pragma unroll
    for (int s = 0; s < kStage; s += 16) {
      unsigned gs[2][4], xs[2][4];
#pragma unroll
      for (int i = 0; i < 2; ++i) mma::load(&g_s[quarter_row + 16 * i + g_row][s + g_step], gs[i]);
#pragma unroll
      for (int j = 0; j < 2; ++j)
        mma::load(&x_s[quarter_column + 16 * j + x_row][s + x_step], xs[j]);
      quarter.multiply_add(gs, xs);
    }
  }

  // One slice writes the gradient; more write their partial sums for add_slices().
  float* const out = a.partials ? a.partials + slice * rows * depth : a.gradient;
  quarter.for_each(lane, [&](int row, int column, float sum) {
    const int64_t r = r0 + quarter_row + row, k = k0 + quarter_column + column;
    if (r < rows && k < depth) out[r * depth + k] = sum;
  });
}

bool valid(const Sizes& s) { return s.batch >= 1 && s.rows >= 1 && s.depth >= 1 && s.columns >= 1; }

}  // namespace

cudaError_t plan_weight_gradient(const Sizes& s, Plan* out) {
  if (!valid(s)) return cudaErrorInvalidValue;
  int64_t slots = 0;
  if (const auto error = block_slots(slice_kernel, kThreads, &slots)) return error;
  *out = split_sum(tiles_of(s.rows) * tiles_of(s.depth), s.batch * s.columns, kStage, slots);
  return cudaSuccess;
}

int64_t weight_gradient_partial_floats(const Sizes& s, const Plan& p) {
  return p.slices > 1 ? p.slices * s.rows * s.depth : 0;
}

cudaError_t weight_gradient(const void* g, const void* x, const Sizes& sizes, const Plan& plan,
                            float* partials, float* gradient, cudaStream_t stream) {
  if (!valid(sizes) || !covers(plan, sizes.batch * sizes.columns) ||
      (plan.slices > 1 && partials == nullptr))
    return cudaErrorInvalidValue;
  const Args args{static_cast<const __nv_bfloat16*>(g),
                  static_cast<const __nv_bfloat16*>(x),
                  gradient,
                  plan.slices > 1 ? partials : nullptr,
                  sizes,
                  plan,
                  tiles_of(sizes.rows),
                  tiles_of(sizes.depth)};
  const int64_t blocks = args.row_tiles * args.depth_tiles * plan.slices;
  if (blocks > INT32_MAX) return cudaErrorInvalidConfiguration;
  slice_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(args);
  if (plan.slices == 1) return cudaGetLastError();
  if (const auto error = cudaGetLastError()) return error;
  return add_slices(partials, plan.slices, sizes.rows * sizes.depth, gradient, stream);
}

}  // namespace parrot::mamba::cuda_product
