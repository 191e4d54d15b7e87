// The product behind Mamba's narrow projections, out[b] = weight x[b] for every batch row b, for
// weights with few rows and a long depth: x_proj's forward (128 rows from 2048 channels) and
// dt_proj's input gradient (64 rows from 2048). At the paper's batch of 8 cuBLAS's batched
// products get 11 to 18 TFLOP/s on these in float, against 44 to 51 at 64 x 512, and 18 to 37
// in bfloat16 on tensor cores (bench/left_multiply_cuda_bench.cpp): their outputs are too small to
// keep the device busy unless the sums themselves are split. Here the sum over depth is split into
// slices that blocks take in parallel, each writing its partial product, and a second kernel adds
// the slices in a fixed order, so that every run gives the same bits.
//
// A block computes a 64 x 64 tile of out over its slice, staging steps of depth in shared memory:
// as many rows of the weight and of x, both read along rows from global memory (the weight comes
// transposed for that).
// - float: 256 threads, 16 steps a stage. Each thread keeps a 4 x 4 piece of the tile in
//   registers and reads its four weights and four x as two float4 per step of depth. The next
//   stage's loads are issued before the current stage is computed.
// - bfloat16: 128 threads, 32 steps a stage, on tensor cores (mma.sync m16n8k16, adding in
//   float). Each warp takes a 32 x 32 quarter of the tile: per 16 steps of depth two 16 x 16
//   pieces of the weight and four 16 x 8 of x, read from shared memory by ldmatrix, transposed
//   on the way since both are staged depth-major, and eight products. Stages arrive by cp.async,
//   8 bytes a copy where rows allow, two in flight while a third is computed: the values never
//   pass through registers.

#include "left_multiply_cuda_kernel.hpp"

#include <cuda_bf16.h>

#include <algorithm>
#include <type_traits>

#include <parrot/cuda_convert.cuh>

#include "cp_async.cuh"
#include "mma_bf16.cuh"
#include "slice_sum.cuh"

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

template <typename T>
struct Args {
  const T* weight_t;  // [depth, rows]
  const T* x;         // [batch, depth, columns]
  T* out;             // [batch, rows, columns]
  float* partials;    // [slices, batch, rows, columns], or nullptr for one slice
  Sizes sizes;
  Plan plan;
  int64_t row_tiles, column_tiles;
  bool aligned_runs;  // bfloat16: every run of four values of a row starts 8-byte aligned
};

int64_t tiles_of(int64_t n) { return (n + kTile - 1) / kTile; }

// Which tile, slice and batch row a block takes, and its slice's depth.
struct BlockTask {
  int64_t r0, c0, slice, b, k_begin, k_end;

  template <typename T>
  __device__ explicit BlockTask(const Args<T>& a) {
    // Columns fastest: blocks in flight together share the weight's rows.
    int64_t block = blockIdx.x;
    c0 = block % a.column_tiles * kTile;
    block /= a.column_tiles;
    r0 = block % a.row_tiles * kTile;
    block /= a.row_tiles;
    slice = block % a.plan.slices;
    b = block / a.plan.slices;
    k_begin = slice * a.plan.slice_depth;
    k_end = min(k_begin + a.plan.slice_depth, a.sizes.depth);
  }

  // One slice writes out; more write their partial products for add_slices(). r and c in
  // the tile.
  template <typename T>
  __device__ void write(const Args<T>& a, int r, int c, float sum) const {
    const int64_t rows = a.sizes.rows, columns = a.sizes.columns;
    if (r0 + r >= rows || c0 + c >= columns) return;
    const int64_t at = (b * rows + r0 + r) * columns + c0 + c;
    if (a.partials)
      a.partials[slice * a.sizes.batch * rows * columns + at] = sum;
    else
      a.out[at] = parrot::cuda::from_float<T>(sum);
  }
};

__global__ void __launch_bounds__(kThreads) slice_kernel(const Args<float> a) {
  __shared__ __align__(16) float weight_s[kStage][kTile];
  __shared__ __align__(16) float x_s[kStage][kTile];

  const BlockTask task(a);
  const int64_t r0 = task.r0, c0 = task.c0, k_begin = task.k_begin, k_end = task.k_end;
  const int64_t rows = a.sizes.rows, columns = a.sizes.columns;
  const float* const x = a.x + task.b * a.sizes.depth * columns;

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

#pragma unroll
  for (int i = 0; i < kPiece; ++i)
#pragma unroll
    for (int j = 0; j < kPiece; ++j) task.write(a, piece_row + i, piece_column + j, sum[i][j]);
}

constexpr int kMmaStage = 32;     // depth per shared stage
constexpr int kMmaThreads = 128;  // four warps, 2 x 2 quarters of the tile
constexpr int kMmaBuffers = 3;    // stages in shared memory: one computed while two arrive
constexpr int kQuarter = kTile / 2;
constexpr int kRun = 4;                    // bfloat16 values a copy takes: 8 bytes
constexpr int kRunsPerRow = kTile / kRun;  // of a stage's row of depth
constexpr int kCopies = kMmaStage * kRunsPerRow / kMmaThreads;  // of each operand per thread
constexpr int kMmaPitch = kTile + 8;  // 16 bytes more a row: ldmatrix's eight rows, 144 bytes
                                      // apart, fall in different banks

// A run of four values of a row from global memory into shared memory, of which the first
// `valid` are in the array and the rest read as zero: one asynchronous 8-byte copy where all four
// are and the arrays are 8-byte aligned run by run, else one value at a time.
__device__ __forceinline__ void copy_run(__nv_bfloat16* dst, const __nv_bfloat16* src,
                                         int64_t valid, bool aligned_runs) {
  if (aligned_runs && valid >= kRun) {
    async_copy::copy_8_bytes(dst, src);
    return;
  }
#pragma unroll
  for (int e = 0; e < kRun; ++e) dst[e] = e < valid ? src[e] : __float2bfloat16_rn(0.0f);
}

__global__ void __launch_bounds__(kMmaThreads) slice_kernel_bf16(const Args<__nv_bfloat16> a) {
  // Both depth-major, as in global memory: [k][r] and [k][c].
  __shared__ __align__(16) __nv_bfloat16 weight_s[kMmaBuffers][kMmaStage][kMmaPitch];
  __shared__ __align__(16) __nv_bfloat16 x_s[kMmaBuffers][kMmaStage][kMmaPitch];

  const BlockTask task(a);
  const int64_t r0 = task.r0, c0 = task.c0, k_begin = task.k_begin, k_end = task.k_end;
  const int64_t rows = a.sizes.rows, columns = a.sizes.columns;
  const __nv_bfloat16* const x = a.x + task.b * a.sizes.depth * columns;

  // A stage's copies: thread i takes runs i, i + 128, ... of its 32 rows of 16 runs, of both
  // operands.
  const auto issue = [&](int64_t k0, int buffer) {
#pragma unroll
    for (int q = 0; q < kCopies; ++q) {
      const int run = threadIdx.x + q * kMmaThreads;
      const int k = run / kRunsPerRow, column = run % kRunsPerRow * kRun;
      const bool in_depth = k0 + k < k_end;
      copy_run(&weight_s[buffer][k][column], a.weight_t + (k0 + k) * rows + r0 + column,
               in_depth ? rows - (r0 + column) : 0, a.aligned_runs);
      copy_run(&x_s[buffer][k][column], x + (k0 + k) * columns + c0 + column,
               in_depth ? columns - (c0 + column) : 0, a.aligned_runs);
    }
  };

  // The warp's quarter of the tile, and where lane l's rows for ldmatrix start: matrices 0 and 1
  // (lanes 0 to 15) are depth 0-7 and 8-15 of the first 8 rows or columns, matrices 2 and 3 the
  // same of the next 8.
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int quarter_row = warp / 2 * kQuarter, quarter_column = warp % 2 * kQuarter;
  const int lane_depth = lane % 16, lane_offset = lane / 16 * 8;
  mma::Quarter quarter;
  const int64_t stages = (k_end - k_begin + kMmaStage - 1) / kMmaStage;
#pragma unroll
  for (int s = 0; s < kMmaBuffers - 1; ++s) {
    if (s < stages) issue(k_begin + s * kMmaStage, s);
    async_copy::commit();  // empty groups too, so that every wait counts the same
  }
  for (int64_t s = 0; s < stages; ++s) {
    async_copy::wait<kMmaBuffers - 2>();
    __syncthreads();  // stage s is in for every thread, and every warp is done with stage s - 1
    const int64_t next = s + kMmaBuffers - 1;
    if (next < stages) issue(k_begin + next * kMmaStage, static_cast<int>(next % kMmaBuffers));
    async_copy::commit();
    const int buffer = static_cast<int>(s % kMmaBuffers);
#pragma unroll
    for (int k = 0; k < kMmaStage; k += 16) {
      // The weight's 16 x 16 pieces: rows r..r+7 and r+8..r+15 of depth k..k+7, then of k+8..k+15,
      // which are mma's a0 to a3. So lanes 0-7 take depth k..k+7 at row r, 8-15 the same at r + 8,
      // 16-23 depth k+8.. at r, 24-31 at r + 8.
      unsigned weights[2][4], xs[2][4];
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        mma::load_transposed(&weight_s[buffer][k + lane % 8 + lane / 16 * 8]
                                      [quarter_row + 16 * i + lane / 8 % 2 * 8],
                             weights[i]);
      }
      // x's 16 x 8 pieces, two to a load: depth k..k+7 and k+8..k+15 of columns c..c+7 (mma's b0
      // and b1), then of c+8..c+15.
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        mma::load_transposed(&x_s[buffer][k + lane_depth][quarter_column + 16 * j + lane_offset],
                             xs[j]);
      }
      quarter.multiply_add(weights, xs);
    }
  }

  quarter.for_each(lane, [&](int r, int c, float sum) {
    task.write(a, quarter_row + r, quarter_column + c, sum);
  });
}

bool valid(const Sizes& s) { return s.batch >= 1 && s.rows >= 1 && s.depth >= 1 && s.columns >= 1; }

// Whether the bfloat16 kernel's runs (four values from a multiple of four along a row of the
// weight's transpose or of x) all start at 8-byte boundaries: rows of a multiple of four values
// from aligned arrays.
bool aligned_runs(const void* weight_t, const void* x, const Sizes& s) {
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 8 == 0; };
  return s.rows % kRun == 0 && s.columns % kRun == 0 && aligned(weight_t) && aligned(x);
}

}  // namespace

cudaError_t plan(const Sizes& s, Dtype dtype, Plan* out) {
  if (!valid(s)) return cudaErrorInvalidValue;
  const bool bf16 = dtype == Dtype::kBFloat16;
  int64_t slots = 0;
  if (const auto error = bf16 ? block_slots(slice_kernel_bf16, kMmaThreads, &slots)
                              : block_slots(slice_kernel, kThreads, &slots))
    return error;
  *out = split_sum(s.batch * tiles_of(s.rows) * tiles_of(s.columns), s.depth,
                   bf16 ? kMmaStage : kStage, slots);
  return cudaSuccess;
}

int64_t partial_floats(const Sizes& s, const Plan& p) {
  return p.slices > 1 ? p.slices * s.batch * s.rows * s.columns : 0;
}

cudaError_t left_multiply(Dtype dtype, const void* weight_t, const void* x, const Sizes& sizes,
                          const Plan& plan, float* partials, void* out, cudaStream_t stream) {
  if (!valid(sizes) || !covers(plan, sizes.depth) || (plan.slices > 1 && partials == nullptr))
    return cudaErrorInvalidValue;
  return parrot::cuda::with_type(dtype, [&](auto type) {
    using T = typename decltype(type)::type;
    const Args<T> args{static_cast<const T*>(weight_t),
                       static_cast<const T*>(x),
                       static_cast<T*>(out),
                       plan.slices > 1 ? partials : nullptr,
                       sizes,
                       plan,
                       tiles_of(sizes.rows),
                       tiles_of(sizes.columns),
                       aligned_runs(weight_t, x, sizes)};
    const int64_t blocks = sizes.batch * args.row_tiles * args.column_tiles * plan.slices;
    if (blocks > INT32_MAX) return cudaErrorInvalidConfiguration;
    if constexpr (std::is_same_v<T, float>)
      slice_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(args);
    else
      slice_kernel_bf16<<<static_cast<unsigned>(blocks), kMmaThreads, 0, stream>>>(args);
    if (plan.slices == 1) return cudaGetLastError();
    if (const auto error = cudaGetLastError()) return error;
    return add_slices(partials, plan.slices, sizes.batch * sizes.rows * sizes.columns,
                      static_cast<T*>(out), stream);
  });
}

}  // namespace parrot::mamba::cuda_product
