// The CUDA selective scan's backward. With a_t = exp(delta_t A) and g_t the gradient of the loss
// with respect to h_t (through y_t and h_{t+1}), per batch row, channel and state:
//   g_t      = gy_t C_t + a_{t+1} g_{t+1}
//   gC_t     = sum over channels of gy_t h_t,   gB_t = sum over channels of g_t delta_t u_t
//   gA       = sum over batch rows and time of g_t a_t h_{t-1} delta_t
//   gdelta_t = sum_n g_t (a_t h_{t-1} A + B_t u_t)
//   gu_t     = gy_t D + sum_n g_t delta_t B_t,      gD = sum over batch rows and time of gy_t u_t
// and, where delta_t = softplus(dt_t + delta_bias), dt's gradient gdelta_t softplus'(.), whose sum
// over batch rows and time is delta_bias's.
//
// Blocks and lanes as in the forward (selective_scan_cuda_common.cuh), with each lane's states in
// swapped_state order. The forward saved the state at the start of every chunk of kChunk steps;
// the chunks are taken last to first. From its start state a chunk's steps are recomputed into
// shared memory, keeping a_t h_{t-1} (h_t is that plus delta_t B_t u_t), and the lanes walk the
// chunk backwards, carrying g_t in registers. Both walks are unrolled, so that a step's shared
// memory addresses are constant offsets rather than arithmetic. Where delta is softplus(dt), the
// chunk's staging also stores softplus' of every step size, which the walk only multiplies by.
// Each (step, channel, state) thus takes two exp2: keeping a_t too would double the shared
// memory per block and halve the blocks an SM holds. That count sets the pace: each block walks
// its sequence step by step, so an SM needs many blocks to hide the latency of every step's
// chain. Chunks of 8 keep a block's shared memory near 48 KiB (at 32 states), four blocks to an
// SM; chunks of 16 allowed two, and the paper's 8 x 220 ran 25% slower.
//
// Sums over channels, without atomics, so every run gives the same bits. Per step each warp adds
// up its lanes' parts of gB and gC (WarpChannelSum) into shared memory; after a chunk the block
// adds its warps' sums in a fixed order into its own slice of gB_part and gC_part, which the
// caller adds up. To keep those slices few, a block takes several tiles of channels one after
// the other, adding into its slice: as many as leave just enough blocks to fill the device
// (plan_backward). A's and D's gradients sum over time in registers and go to per-row slices.

#include "selective_scan_cuda_common.cuh"

#include <algorithm>

namespace parrot::mamba::cuda_scan {
namespace {

constexpr int kChunk = kSavedEvery;
constexpr int kPitch = kChunk + 1;  // odd, so that lanes reading different channels' rows of the
                                    // same step hit different banks

template <typename T>
struct BackwardArgs {
  const T *u, *delta, *B, *C, *gy;
  int64_t BC_batch_stride;
  const float *A, *D, *delta_bias;
  T *gu, *gdelta;
  const float* saved_states;
  float *gA_part, *gD_part, *gdelta_bias_part, *gB_part, *gC_part;
  int64_t batch, channels, length, state;
  int64_t groups, tiles, tiles_per_group;  // a tile: the channels one block takes at a time
};

template <int kLanes>
constexpr size_t shared_bytes() {
  using Blocks = Layout<kLanes>;
  return sizeof(float4) * kChunk * 2 * kThreads +  // history
         sizeof(float) *
             (6 * Blocks::kChannels * kPitch +         // delta, its derivative, u, gy, gu, gdelta
              2 * kChunk * (Blocks::kStates + 1) +     // B, C
              2 * kWarps * Blocks::kStates * kPitch);  // warps' sums
}

// Four blocks an SM, as their shared memory allows: at most 128 registers a thread.
template <int kLanes, typename T>
__global__ void __launch_bounds__(kThreads, 4) backward_kernel(const BackwardArgs<T> args) {
  using Blocks = Layout<kLanes>;
  using Sum = WarpChannelSum<kLanes>;
  constexpr int kChannels = Blocks::kChannels, kStates = Blocks::kStates;
  constexpr int kStatePitch = kStates + 1;
  // With one lane a channel (states up to 8) the unrolled steps spill registers.
  constexpr int kStepsUnrolled = kLanes > 1 ? kChunk : 1;
  extern __shared__ float4 shared[];
  float4* const history = shared;  // [kChunk][2][kThreads]: a_t h_{t-1}, two float4 per thread
  float* const delta_s = reinterpret_cast<float*>(history + kChunk * 2 * kThreads);
  float* const slope_s = delta_s + kChannels * kPitch;  // softplus' where delta is softplus(dt)
  float* const u_s = slope_s + kChannels * kPitch;      // these six: [kChannels][kPitch]
  float* const gy_s = u_s + kChannels * kPitch;
  float* const gu_s = gy_s + kChannels * kPitch;
  float* const gdelta_s = gu_s + kChannels * kPitch;
  float* const B_s = gdelta_s + kChannels * kPitch;  // [kChunk][kStatePitch], transposed
  float* const C_s = B_s + kChunk * kStatePitch;     // so that a step's states are a row
  float* const sums_B = C_s + kChunk * kStatePitch;  // [kWarps][kStates][kPitch]
  float* const sums_C = sums_B + kWarps * kStates * kPitch;

  const Blocks layout;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t b = blockIdx.x / args.groups, group = blockIdx.x % args.groups;
  const int64_t chunks = (args.length + kChunk - 1) / kChunk;
  using Saved = SavedStates<kLanes>;
  const int64_t saved_stride = args.channels * Saved::kStride;  // chunk to chunk
  const int64_t slice = (group * args.batch + b) * args.state * args.length;
  const T* const B_rows = args.B + b * args.BC_batch_stride;
  const T* const C_rows = args.C + b * args.BC_batch_stride;
  const float* const delta_row = delta_s + layout.channel * kPitch;
  const float* const slope_row = slope_s + layout.channel * kPitch;
  const float* const u_row = u_s + layout.channel * kPitch;
  const float* const gy_row = gy_s + layout.channel * kPitch;
  float* const gu_row = gu_s + layout.channel * kPitch;
  float* const gdelta_row = gdelta_s + layout.channel * kPitch;

  const int64_t tile_begin = group * args.tiles_per_group;
  const int64_t tile_end = min(tile_begin + args.tiles_per_group, args.tiles);
  for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
    const int64_t first = tile * kChannels;
    const int channels_here =
        args.channels - first < kChannels ? static_cast<int>(args.channels - first) : kChannels;
    const int64_t d = first + layout.channel;
    const bool real = layout.channel < channels_here;  // not a padding channel
    const int64_t rows = (b * args.channels + first) * args.length;

    float A2[kSlots];  // A log2(e), for exp2
    int n[kSlots];     // the slots' states
#pragma unroll
    for (int j = 0; j < kSlots; ++j) {
      n[j] = layout.swapped_state(j);
      A2[j] = real && n[j] < args.state ? args.A[d * args.state + n[j]] * kLog2e : 0.0f;
    }
    const float D = real ? args.D[d] : 0.0f;
    const StepSize step_size{args.delta_bias ? args.delta_bias + first : nullptr};

    // Each chunk's inputs travel to registers while the chunk before is computed, and to shared
    // memory once that is done: a block never waits for global memory between chunks.
    TileFetch<T, kChannels, kChunk, false, Convert::on_arrival> delta_next, u_next, gy_next;
    TileFetch<T, kStates, kChunk, true, Convert::on_arrival> B_next, C_next;

    // The chunks, last to first.
    const float* const saved =
        args.saved_states + Saved::at(b, d, layout.group, args.channels, args.length);
    float h[kSlots], h_next[kSlots];  // this and the next chunk's start states
    const auto fetch_backward = [&](int64_t c) {
      const int64_t t0 = c * kChunk;
      delta_next.fetch(args.delta + rows, args.length, channels_here, t0, step_size);
      u_next.fetch(args.u + rows, args.length, channels_here, t0);
      gy_next.fetch(args.gy + rows, args.length, channels_here, t0);
      B_next.fetch(B_rows, args.length, args.state, t0);
      C_next.fetch(C_rows, args.length, args.state, t0);
      if (c > 0 && real) {
        Saved::load(saved + (c - 1) * saved_stride, h_next);
      } else {
#pragma unroll
        for (int j = 0; j < kSlots; ++j) h_next[j] = 0.0f;
      }
    };
    float g[kSlots], gA[kSlots], gD = 0.0f, gdelta_bias = 0.0f;  // g: a_{t+1} g_{t+1} at step t
#pragma unroll
    for (int j = 0; j < kSlots; ++j) g[j] = gA[j] = 0.0f;
    fetch_backward(chunks - 1);
    for (int64_t c = chunks - 1; c >= 0; --c) {
      const int64_t t0 = c * kChunk;
      delta_next.put(delta_s, kPitch);
      if (step_size.bias)
        delta_next.put(slope_s, kPitch,
                       [](int, float delta) { return step_size_derivative(delta); });
      u_next.put(u_s, kPitch);
      gy_next.put(gy_s, kPitch);
      B_next.put(B_s, kStatePitch);
      C_next.put(C_s, kStatePitch);
#pragma unroll
      for (int j = 0; j < kSlots; ++j) h[j] = h_next[j];
      __syncthreads();
      fetch_backward(c > 0 ? c - 1 : 0);  // while this one is computed

      // Recompute the chunk's steps from its start state.
#pragma unroll kStepsUnrolled
      for (int t = 0; t < kChunk; ++t) {
        const float dt = delta_row[t], dtu = dt * u_row[t];
        const float* const B = B_s + t * kStatePitch;
        float ah[kSlots];
#pragma unroll
        for (int j = 0; j < kSlots; ++j) {
          ah[j] = exp2_approx(dt * A2[j]) * h[j];
          h[j] = fmaf(dtu, B[n[j]], ah[j]);
        }
        history[(2 * t) * kThreads + threadIdx.x] = make_float4(ah[0], ah[1], ah[2], ah[3]);
        history[(2 * t + 1) * kThreads + threadIdx.x] = make_float4(ah[4], ah[5], ah[6], ah[7]);
      }

      // Walk back through it.
#pragma unroll kStepsUnrolled
      for (int t = kChunk - 1; t >= 0; --t) {
        const float dt = delta_row[t], u = u_row[t], gy = gy_row[t], dtu = dt * u;
        const float* const B = B_s + t * kStatePitch;
        const float* const C = C_s + t * kStatePitch;
        const float4 low = history[(2 * t) * kThreads + threadIdx.x];
        const float4 high = history[(2 * t + 1) * kThreads + threadIdx.x];
        const float ah[kSlots] = {low.x, low.y, low.z, low.w, high.x, high.y, high.z, high.w};
        float decay = 0.0f, input = 0.0f, gB[kSlots], gC[kSlots];
#pragma unroll
        for (int j = 0; j < kSlots; ++j) {
          const float g_t = fmaf(gy, C[n[j]], g[j]);
          const float g_decay = g_t * ah[j];  // the gradient w.r.t. a_t, times a_t
          decay = fmaf(g_decay, A2[j], decay);
          gA[j] = fmaf(g_decay, dt, gA[j]);
          input = fmaf(g_t, B[n[j]], input);
          gB[j] = g_t * dtu;
          gC[j] = gy * fmaf(dtu, B[n[j]], ah[j]);  // gy h_t
          g[j] = g_t * exp2_approx(dt * A2[j]);
        }
        decay = sum_over_channel_lanes<kLanes>(decay);  // with A log2(e): times ln 2 below
        input = sum_over_channel_lanes<kLanes>(input);
        if (layout.group == 0) {
          const float gdelta = fmaf(kLn2, decay, input * u);
          if (step_size.bias) {
            gdelta_row[t] = gdelta * slope_row[t];
            gdelta_bias += gdelta_row[t];
          } else {
            gdelta_row[t] = gdelta;
          }
          gu_row[t] = fmaf(gy, D, input * dt);
          gD = fmaf(gy, u, gD);
        }
        Sum::reduce(gB);
        Sum::reduce(gC);
        if (Sum::writes(lane)) {
#pragma unroll
          for (int m = 0; m < Sum::kKept; ++m) {
            const int at = (warp * kStates + 32 * m + lane) * kPitch + t;
            sums_B[at] = gB[m << Sum::kHalvings];
            sums_C[at] = gC[m << Sum::kHalvings];
          }
        }
      }
      __syncthreads();

      store_tile<kChannels, kChunk>(args.gu + rows, gu_s, kPitch, args.length, channels_here, t0);
      store_tile<kChannels, kChunk>(args.gdelta + rows, gdelta_s, kPitch, args.length,
                                    channels_here, t0);
      // The block's sums over its channels so far: the warps' in order, plus earlier tiles'.
      for (int i = threadIdx.x; i < kStates * kChunk; i += kThreads) {
        const int state = i / kChunk, t = i % kChunk;
        if (state >= args.state || t0 + t >= args.length) continue;
        float sum_B = 0.0f, sum_C = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) {
          sum_B += sums_B[(w * kStates + state) * kPitch + t];
          sum_C += sums_C[(w * kStates + state) * kPitch + t];
        }
        const int64_t at = slice + state * args.length + t0 + t;
        if (tile != tile_begin) {
          sum_B += args.gB_part[at];
          sum_C += args.gC_part[at];
        }
        args.gB_part[at] = sum_B;
        args.gC_part[at] = sum_C;
      }
    }

    // This batch row's shares of A's and D's gradients.
    if (real) {
#pragma unroll
      for (int j = 0; j < kSlots; ++j)
        if (n[j] < args.state) args.gA_part[(b * args.channels + d) * args.state + n[j]] = gA[j];
      if (layout.group == 0) {
        args.gD_part[b * args.channels + d] = gD;
        if (step_size.bias) args.gdelta_bias_part[b * args.channels + d] = gdelta_bias;
      }
    }
  }
}

// Blocks need more than the 48 KiB of shared memory a kernel gets unless it asks.
template <int kLanes, typename T>
cudaError_t allow_shared_memory() {
  return cudaFuncSetAttribute(backward_kernel<kLanes, T>,
                              cudaFuncAttributeMaxDynamicSharedMemorySize,
                              static_cast<int>(shared_bytes<kLanes>()));
}

template <int kLanes, typename T>
cudaError_t plan(const Sizes& s, BackwardPlan* out) {
  int blocks_per_sm = 0, device = 0, sms = 0;
  if (const auto error = allow_shared_memory<kLanes, T>()) return error;
  if (const auto error = cudaOccupancyMaxActiveBlocksPerMultiprocessor(
          &blocks_per_sm, backward_kernel<kLanes, T>, kThreads, shared_bytes<kLanes>()))
    return error;
  if (const auto error = cudaGetDevice(&device)) return error;
  if (const auto error = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device))
    return error;
  // Enough groups per batch row for one block on every slot of the device, no more.
  const int64_t tiles = (s.channels + Layout<kLanes>::kChannels - 1) / Layout<kLanes>::kChannels;
  const int64_t row_slots = std::max<int64_t>(1, int64_t{blocks_per_sm} * sms / s.batch);
  out->tiles_per_group = (tiles + row_slots - 1) / row_slots;
  out->groups = (tiles + out->tiles_per_group - 1) / out->tiles_per_group;
  return cudaSuccess;
}

template <int kLanes, typename T>
cudaError_t launch(const Inputs& in, const Sizes& s, const void* gy, const float* saved_states,
                   const BackwardPlan& plan, const Gradients& out, cudaStream_t stream) {
  using Blocks = Layout<kLanes>;
  const int64_t tiles = (s.channels + Blocks::kChannels - 1) / Blocks::kChannels;
  if (plan.groups != (tiles + plan.tiles_per_group - 1) / plan.tiles_per_group)
    return cudaErrorInvalidValue;  // not a plan for these sizes
  // The tile fetch reads a real element in place of each missing one; without states B and C
  // have none, and it reads u's.
  const bool states = s.state > 0;
  const BackwardArgs<T> args{static_cast<const T*>(in.u),
                             static_cast<const T*>(in.delta),
                             static_cast<const T*>(states ? in.B : in.u),
                             static_cast<const T*>(states ? in.C : in.u),
                             static_cast<const T*>(gy),
                             states ? in.BC_batch_stride : 0,
                             in.A,
                             in.D,
                             in.delta_bias,
                             static_cast<T*>(out.gu),
                             static_cast<T*>(out.gdelta),
                             saved_states,
                             out.gA_part,
                             out.gD_part,
                             out.gdelta_bias_part,
                             out.gB_part,
                             out.gC_part,
                             s.batch,
                             s.channels,
                             s.length,
                             s.state,
                             plan.groups,
                             tiles,
                             plan.tiles_per_group};
  const int64_t blocks = s.batch * plan.groups;
  if (blocks > INT32_MAX) return cudaErrorInvalidConfiguration;
  if (const auto error = allow_shared_memory<kLanes, T>()) return error;
  backward_kernel<kLanes, T>
      <<<static_cast<unsigned>(blocks), kThreads, shared_bytes<kLanes>(), stream>>>(args);
  return cudaGetLastError();
}

}  // namespace

cudaError_t plan_backward(const Sizes& sizes, Dtype dtype, BackwardPlan* plan_out) {
  if (sizes.batch < 1 || sizes.channels < 1 || sizes.length < 1) return cudaErrorInvalidValue;
  return with_type(dtype, [&](auto type) {
    return with_lanes(sizes.state, [&](auto lanes) {
      return plan<decltype(lanes)::value, typename decltype(type)::type>(sizes, plan_out);
    });
  });
}

cudaError_t backward(const Inputs& in, const Sizes& sizes, const void* gy,
                     const float* saved_states, const BackwardPlan& plan, const Gradients& out,
                     cudaStream_t stream) {
  if (sizes.batch < 1 || sizes.channels < 1 || sizes.length < 1) return cudaErrorInvalidValue;
  return with_type(in.dtype, [&](auto type) {
    return with_lanes(sizes.state, [&](auto lanes) {
      return launch<decltype(lanes)::value, typename decltype(type)::type>(
          in, sizes, gy, saved_states, plan, out, stream);
    });
  });
}

}  // namespace parrot::mamba::cuda_scan
