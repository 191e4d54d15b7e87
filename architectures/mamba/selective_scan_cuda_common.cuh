// What the CUDA selective scan's forward and backward kernels share: how a block's threads split
// channels and states, the fast exp2, sums across lanes, and staging tiles through shared memory.
//
// Layout. A block has kThreads threads and serves one batch row and kChannels consecutive
// channels. kLanes neighbouring lanes of a warp share a channel, and each keeps kSlots of its
// states in registers for the whole walk along the sequence. The state count is padded to
// kSlots * kLanes with states whose A, B and C are zero, which stay zero.

#pragma once

#include <cuda_bf16.h>

#include <cstdint>
#include <type_traits>

#include <parrot/cuda_convert.cuh>

#include "selective_scan_cuda_kernel.hpp"

namespace parrot::mamba::cuda_scan {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr int kSlots = 8;                      // states per lane
constexpr float kLog2e = 1.4426950408889634f;  // exp(x) = exp2(x * log2 e)
constexpr float kLn2 = 0.6931471805599453f;
constexpr unsigned kAllLanes = 0xffffffffu;

template <int kLanes>
struct Layout {
  static_assert(kLanes >= 1 && kLanes <= 32 && (kLanes & (kLanes - 1)) == 0);
  static constexpr int kChannels = kThreads / kLanes;  // per block
  static constexpr int kStates = kSlots * kLanes;      // padded state count
  int channel;                                         // in the block
  int group;                                           // which of the channel's lanes
  int swap;  // the low bits of the channel's position in its warp

  __device__ Layout()
      : channel(threadIdx.x / kLanes),
        group(threadIdx.x % kLanes),
        swap((threadIdx.x % 32 / kLanes) & (kSlots - 1)) {}

  // The forward's order: the lanes of a warp that serve one slot of different channels read the
  // same B and C, which shared memory broadcasts.
  __device__ int state(int slot) const { return slot * kLanes + group; }
  // The backward's: permuted by the channel's position, so that summing over channels (the
  // gradients of B and C) needs no selects (WarpChannelSum).
  __device__ int swapped_state(int slot) const { return (slot ^ swap) * kLanes + group; }
};

// 2^x on the special-function unit, with relative error about 2^-22; tiny results flush to zero.
__device__ __forceinline__ float exp2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Sum over the kLanes lanes of one channel; every one of them gets it.
template <int kLanes>
__device__ __forceinline__ float sum_over_channel_lanes(float x) {
#pragma unroll
  for (int offset = 1; offset < kLanes; offset *= 2) x += __shfl_xor_sync(kAllLanes, x, offset);
  return x;
}

// Sums v over the channels of the warp, per state, for slots in swapped_state order. Lanes
// whose channels differ in bit k of their
// position exchange half of their live slots: a lane keeps slot j (bit k clear) and adds its
// partner's slot j + 2^k, which holds the same state because the swap differs in the same bit.
// With 8 or more channels per warp three such halvings leave one slot and plain butterflies add
// the rest (lanes of the same channel hold different states, so they never mix).
template <int kLanes>
struct WarpChannelSum {
  static constexpr int kChannelsPerWarp = 32 / kLanes;
  static constexpr int kHalvings = kChannelsPerWarp >= 8   ? 3
                                   : kChannelsPerWarp == 4 ? 2
                                   : kChannelsPerWarp == 2 ? 1
                                                           : 0;
  static constexpr int kKept = kSlots >> kHalvings;  // sums each writing lane ends with

  __device__ static void reduce(float (&v)[kSlots]) {
#pragma unroll
    for (int k = 0; k < kHalvings; ++k)
#pragma unroll
      for (int j = 0; j < kSlots; j += 2 << k)
        v[j] += __shfl_xor_sync(kAllLanes, v[j + (1 << k)], kLanes << k);
#pragma unroll
    for (int k = kHalvings; (1 << k) < kChannelsPerWarp; ++k)
      v[0] += __shfl_xor_sync(kAllLanes, v[0], kLanes << k);
  }

  // Afterwards the lanes of the first 2^kHalvings channels of the warp (the others hold copies)
  // hold, for m < kKept, the warp's sum for state 32 m + lane in slot m << kHalvings: every
  // padded state exactly once.
  __device__ static bool writes(int lane) { return lane / kLanes < (1 << kHalvings); }
};

// The saved states (selective_scan_cuda_kernel.hpp): a lane's kSlots states are one run of 32
// bytes, so that a warp saves and reloads whole sectors with 16-byte accesses rather than a
// scattered float per state. The run is in the backward's swapped_state order, which the forward
// makes, having registers to spare where the backward has none.
template <int kLanes>
struct SavedStates {
  static constexpr int64_t kStride = Layout<kLanes>::kStates;  // floats a channel

  // Where this lane's run for batch row b, channel d entering chunk 1 is; chunk c's is
  // (c - 1) * channels * kStride further on. Length at least 1.
  __device__ static int64_t at(int64_t b, int64_t d, int group, int64_t channels, int64_t length) {
    return (b * ((length - 1) / kSavedEvery) * channels + d) * kStride + group * kSlots;
  }

  // From the forward's order, state(j), to the backward's, swapped_state(j): run[j] = h[j ^ swap],
  // one bit of the swap at a time. Streaming stores: the backward reads the runs only after the
  // forward and backward of every layer above, so they need not stay in L2.
  __device__ static void save(float* run, const float (&h)[kSlots], int swap) {
    static_assert(kSlots == 8);
    float v[kSlots];
#pragma unroll
    for (int j = 0; j < kSlots; ++j) v[j] = h[j];
#pragma unroll
    for (int bit = 1; bit < kSlots; bit *= 2) {
      const bool flip = swap & bit;
#pragma unroll
      for (int j = 0; j < kSlots; ++j) {
        if (j & bit) continue;
        const float low = v[j], high = v[j | bit];
        v[j] = flip ? high : low;
        v[j | bit] = flip ? low : high;
      }
    }
    __stcs(reinterpret_cast<float4*>(run), make_float4(v[0], v[1], v[2], v[3]));
    __stcs(reinterpret_cast<float4*>(run) + 1, make_float4(v[4], v[5], v[6], v[7]));
  }

  // The run as the backward's slots hold it.
  __device__ static void load(const float* run, float (&h)[kSlots]) {
    const float4 low = __ldcs(reinterpret_cast<const float4*>(run));
    const float4 high = __ldcs(reinterpret_cast<const float4*>(run) + 1);
    const float v[kSlots] = {low.x, low.y, low.z, low.w, high.x, high.y, high.z, high.w};
#pragma unroll
    for (int j = 0; j < kSlots; ++j) h[j] = v[j];
  }
};

using parrot::cuda::from_float;
using parrot::cuda::to_float;

// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|), on one exp2 of the special-function
// unit: log1p(e) = 2 atanh(s) with s = e / (2 + e) <= 1/3, whose odd series to s^13 is good to
// about 1e-8 of it. What is left is exp2's: about 1e-7 |x| relative from rounding x log2 e,
// plus its own 2^-22; past 20 the series adds under half an ulp of x, which is what PyTorch
// returns there. libm's log1pf(expf(x)) takes several times the instructions, and
// Mamba's forward makes one for every step of every channel.
__device__ __forceinline__ float softplus(float x) {
  const float e = exp2_approx(-fabsf(x) * kLog2e);
  const float s = __fdividef(e, 2.0f + e), s2 = s * s;
  const float c[] = {1.0f / 13, 1.0f / 11, 1.0f / 9, 1.0f / 7, 1.0f / 5, 1.0f / 3, 1.0f};
  float series = c[0];
#pragma unroll
  for (int i = 1; i < 7; ++i) series = fmaf(series, s2, c[i]);
  return fmaxf(x, 0.0f) + 2.0f * s * series;
}

// softplus'(x) = sigmoid(x) = 1 - exp(-softplus(x)): the step size's derivative from the step
// size delta >= 0. Below 1/4, where the subtraction would cancel, the series of -expm1(-delta) to
// delta^7 (good to about 1e-9 of it); above, at most 3 ulp of exp2's error in a result >= 0.22.
__device__ __forceinline__ float step_size_derivative(float delta) {
  const float c[] = {1.0f / 5040, -1.0f / 720, 1.0f / 120, -1.0f / 24, 1.0f / 6, -0.5f, 1.0f};
  float series = c[0];
#pragma unroll
  for (int i = 1; i < 7; ++i) series = fmaf(series, delta, c[i]);
  return delta < 0.25f ? delta * series : 1.0f - exp2_approx(-delta * kLog2e);
}

// What a tile load does to each value it reads from row r: nothing, or make Mamba's step size of
// it, softplus(dt + bias[r]), where there is a bias.
struct AsIs {
  __device__ float operator()(int, float v) const { return v; }
};
struct StepSize {
  const float* bias;  // the tile's rows' biases, or nullptr: dt is the step size as given
  // softplus either way, and a select, where a branch would split the backward's fetch.
  __device__ float operator()(int r, float dt) const {
    const float delta = softplus(dt + (bias == nullptr ? 0.0f : bias[r]));
    return bias == nullptr ? dt : delta;
  }
};

// Tiles that the block's threads cover evenly, or that are smaller than the block (the threads
// past their last row idle).
template <int kRows, int kCols>
constexpr bool kFitsBlock = kThreads % kCols == 0 &&
                            ((kRows * kCols) % kThreads == 0 || kRows * kCols < kThreads);

// Time steps [t0, t0 + kCols) of kRows consecutive rows of a [rows, length] array, staged in
// shared memory as float in two halves, so that a block can fetch its next chunk while it
// computes this one: fetch() issues the loads into registers, and put() stores the value at row
// r, step t in tile[r * pitch + t], or in tile[t * pitch + r] when kTransposed. Rows from
// valid_rows on and steps from length on read as zero. Consecutive threads take consecutive
// steps, so a warp reads whole runs of a row.
//
// Where the values are made float, and f applied, is the caller's choice:
//   - Convert::on_arrival: in fetch(), f being fetch's; put's f, if any, then maps the float
//     values, the zeros that stand for missing ones included. Where the computation in between
//     is unrolled (the backward's), the compiler spreads that work, and the waits, among it,
//     if fetch() has no branches: a missing value is read from rows[0] (which must exist), f
//     made of it as of row 0's, and the result masked. With a branch the warps waited for their
//     loads in the fetch, a seventh of the backward's time in ncu.
//   - Convert::in_put: in put(), f being put's. Across a rolled loop (the forward's) the
//     conversion would otherwise sit before the loop, and the warp wait there for its loads.
enum class Convert { on_arrival, in_put };

template <typename T, int kRows, int kCols, bool kTransposed, Convert kConvert>
struct TileFetch {
  static_assert(kFitsBlock<kRows, kCols>);
  static constexpr int kPerThread = (kRows * kCols + kThreads - 1) / kThreads;
  static constexpr int kRowStep = kThreads / kCols;
  static constexpr bool kOnArrival = kConvert == Convert::on_arrival;
  std::conditional_t<kOnArrival, float, T> values[kPerThread];
  int valid;  // in_put: values[k] for k < valid were loaded, the others read as zero

  template <typename F = AsIs>
  __device__ __forceinline__ void fetch(const T* __restrict__ rows, int64_t length, int valid_rows,
                                        int64_t t0, F f = {}) {
    static_assert(kOnArrival || std::is_same_v<F, AsIs>, "in_put applies put's f");
    const int t = threadIdx.x % kCols, r0 = threadIdx.x / kCols;
    const bool in_time = t0 + t < length;
    // One pointer stepped along the rows: indexing each load from their start took five
    // instructions in the forward (ncu's source view).
    const T* at = rows + r0 * length + t0 + t;
    const int64_t stride = kRowStep * length;
    if constexpr (kOnArrival) {
#pragma unroll
      for (int k = 0; k < kPerThread; ++k, at += stride) {
        const int r = r0 + k * kRowStep;
        const bool inside = in_time && r < valid_rows;
        values[k] = f(inside ? r : 0, to_float(*(inside ? at : rows))) * (inside ? 1.0f : 0.0f);
      }
    } else {
      valid = in_time && r0 < valid_rows ? (valid_rows - r0 + kRowStep - 1) / kRowStep : 0;
#pragma unroll
      for (int k = 0; k < kPerThread; ++k, at += stride)
        if (k < valid) values[k] = *at;
    }
  }

  template <typename F = AsIs>
  __device__ __forceinline__ void put(float* tile, int pitch, F f = {}) const {
    constexpr bool kEveryThreadFull = (kRows * kCols) % kThreads == 0;
    const int t = threadIdx.x % kCols, r0 = threadIdx.x / kCols;
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const int r = r0 + k * kRowStep;
      if (kEveryThreadFull || r < kRows) {
        float& at = tile[kTransposed ? t * pitch + r : r * pitch + t];
        if constexpr (kOnArrival)
          at = f(r, values[k]);
        else
          at = k < valid ? f(r, to_float(values[k])) : 0.0f;
      }
    }
  }
};

// The reverse of TileFetch (rows only): tile rows back to an array of T, within its bounds.
template <int kRows, int kCols, typename T>
__device__ __forceinline__ void store_tile(T* __restrict__ rows, const float* tile, int pitch,
                                           int64_t length, int valid_rows, int64_t t0) {
  static_assert(kFitsBlock<kRows, kCols>);
  constexpr int kRowStep = kThreads / kCols;
  const int t = threadIdx.x % kCols;
  if (t0 + t >= length) return;
#pragma unroll
  for (int r = threadIdx.x / kCols; r < kRows; r += kRowStep)
    if (r < valid_rows) rows[r * length + t0 + t] = from_float<T>(tile[r * pitch + t]);
}

using parrot::cuda::with_type;

// Host side: calls f with the lanes per channel for `state`, as std::integral_constant: the
// fewest (a power of two) whose slots hold every state.
template <typename F>
cudaError_t with_lanes(int64_t state, F&& f) {
  static_assert(kMaxState == 16 * kSlots);
  if (state > kMaxState) return cudaErrorInvalidValue;
  if (state <= kSlots) return f(std::integral_constant<int, 1>{});
  if (state <= 2 * kSlots) return f(std::integral_constant<int, 2>{});
  if (state <= 4 * kSlots) return f(std::integral_constant<int, 4>{});
  if (state <= 8 * kSlots) return f(std::integral_constant<int, 8>{});
  return f(std::integral_constant<int, 16>{});
}

}  // namespace parrot::mamba::cuda_scan
