// The CUDA selective scan's forward, for every batch row b, channel d and state n:
//   h_t[n] = exp(delta_t A[d, n]) h_{t-1}[n] + delta_t B_t[n] u_t
//   y_t    = sum_n C_t[n] h_t[n] + D[d] u_t
//
// One block per batch row and kChannels channels (selective_scan_cuda_common.cuh has the
// layout). The block walks the sequence in chunks of kChunk steps: it stages the chunk's delta
// and u for its channels, and B and C for all states, in shared memory, fetching the next
// chunk's while it computes this one. Each lane advances its kSlots states through the chunk in
// registers; the lanes of a channel add up their parts of y, and one of them writes y four steps
// at a time, straight from registers. For the backward the block saves the state entering every
// chunk of kSavedEvery steps, which spares it a sweep of its own to find them (it recomputes the
// steps in between). With a delta_bias the step sizes are made from Mamba's dt as its tile goes
// to shared memory (StepSize).
//
// Cost. Every (step, channel, state) takes an exp2 on the special-function unit, which does 16
// a cycle per SM against 128 other instructions, and about six instructions besides: B and C
// come four steps at a time as float4 reads that a warp's channels share, and a lane runs all
// four steps of one state before the next. At the paper's sizes the kernel is bound by issuing
// those instructions, and in ncu the staging around the loop (the tiles, softplus, y and the
// saved states) takes almost half of its time (docs/PERFORMANCE.md). Computing some of the exp2
// with fused multiply-adds instead (a dozen each) measured slower.

#include "selective_scan_cuda_common.cuh"

#include <parrot/cuda_vector.cuh>

namespace parrot::mamba::cuda_scan {
namespace {

constexpr int kChunk = 32;
constexpr int kPitch = kChunk + 4;  // keeps rows 16-byte aligned and spreads them over banks
// Steps go four at a time, kSavedEvery of them between saved states.
static_assert(kChunk % kSavedEvery == 0 && kSavedEvery % 4 == 0);

template <typename T>
struct ForwardArgs {
  const T *u, *delta, *B, *C;
  int64_t BC_batch_stride;
  const float *A, *D, *delta_bias;
  T* y;
  float* saved_states;
  int64_t channels, length, state;
  int64_t blocks_per_row;
};

__device__ __forceinline__ void unpack(const float4& v, float (&out)[4]) {
  out[0] = v.x;
  out[1] = v.y;
  out[2] = v.z;
  out[3] = v.w;
}

// y for the four steps from `at` on, those of them before the row's end (`left` steps away): one
// 16-byte store in float, 8-byte in bfloat16, where the row's groups of four are `aligned`.
// Rather than a y tile in shared memory and a pass of stores along the sequence after each chunk:
// the L2 cache gathers these stores' sectors, and the tile's shared memory and pass go.
template <typename T>
__device__ __forceinline__ void store4(T* at, int64_t left, bool aligned, const float (&y)[4]) {
  if (aligned && left >= 4) {
    parrot::cuda::Vector<T, 4> v;
#pragma unroll
    for (int q = 0; q < 4; ++q) v.v[q] = from_float<T>(y[q]);
    *reinterpret_cast<parrot::cuda::Vector<T, 4>*>(at) = v;
  } else {
#pragma unroll
    for (int q = 0; q < 4; ++q)
      if (q < left) at[q] = from_float<T>(y[q]);
  }
}

template <int kLanes, typename T>
__global__ void __launch_bounds__(kThreads) forward_kernel(const ForwardArgs<T> args) {
  using Blocks = Layout<kLanes>;
  constexpr int kChannels = Blocks::kChannels, kStates = Blocks::kStates;
  extern __shared__ float4 shared[];
  float* const delta_s = reinterpret_cast<float*>(shared);  // [kChannels][kPitch]
  float* const u_s = delta_s + kChannels * kPitch;          // [kChannels][kPitch]
  float* const B_s = u_s + kChannels * kPitch;              // [kStates][kPitch]
  float* const C_s = B_s + kStates * kPitch;                // [kStates][kPitch]

  const Blocks layout;
  const int64_t b = blockIdx.x / args.blocks_per_row;
  const int64_t first = blockIdx.x % args.blocks_per_row * kChannels;
  const int channels_here =
      args.channels - first < kChannels ? static_cast<int>(args.channels - first) : kChannels;
  const int64_t d = first + layout.channel;
  const bool real = layout.channel < channels_here;  // not a padding channel

  float A2[kSlots], h[kSlots];  // A log2(e) for exp2, and the states
  int row[kSlots];              // where each slot's state is in B_s and C_s
#pragma unroll
  for (int j = 0; j < kSlots; ++j) {
    const int n = layout.state(j);
    A2[j] = real && n < args.state ? args.A[d * args.state + n] * kLog2e : 0.0f;
    h[j] = 0.0f;
    row[j] = n * kPitch;
  }
  const float D = real ? args.D[d] : 0.0f;

  const int64_t rows = (b * args.channels + first) * args.length;  // this block's u and delta
  const T* const B_rows = args.B + b * args.BC_batch_stride;
  const T* const C_rows = args.C + b * args.BC_batch_stride;
  const float* const delta_row = delta_s + layout.channel * kPitch;
  const float* const u_row = u_s + layout.channel * kPitch;
  const bool writes_y = real && layout.group == 0;
  T* const y_row = writes_y ? args.y + rows + layout.channel * args.length : nullptr;
  const bool aligned_y =
      args.length % 4 == 0 && reinterpret_cast<uintptr_t>(args.y) % (4 * sizeof(T)) == 0;
  const StepSize step_size{args.delta_bias ? args.delta_bias + first : nullptr};
  // Where this lane saves its next states; padding slots save their zeros.
  using Saved = SavedStates<kLanes>;
  float* saved = args.saved_states && real
                     ? args.saved_states + Saved::at(b, d, layout.group, args.channels, args.length)
                     : nullptr;

  // Each chunk's inputs travel to registers while the chunk before is computed, and to shared
  // memory once that is done: a block waits for global memory once, before its first chunk.
  TileFetch<T, kChannels, kChunk, false, Convert::in_put> delta_next, u_next;
  TileFetch<T, kStates, kChunk, false, Convert::in_put> B_next, C_next;
  const auto fetch = [&](int64_t t0) {
    delta_next.fetch(args.delta + rows, args.length, channels_here, t0);
    u_next.fetch(args.u + rows, args.length, channels_here, t0);
    B_next.fetch(B_rows, args.length, args.state, t0);
    C_next.fetch(C_rows, args.length, args.state, t0);
  };
  fetch(0);
  for (int64_t t0 = 0; t0 < args.length; t0 += kChunk) {
    delta_next.put(delta_s, kPitch, step_size);
    u_next.put(u_s, kPitch);
    B_next.put(B_s, kPitch);
    C_next.put(C_s, kPitch);
    __syncthreads();
    if (t0 + kChunk < args.length) fetch(t0 + kChunk);

#pragma unroll 1
    for (int t8 = 0; t8 < kChunk; t8 += kSavedEvery) {
#pragma unroll 1
      for (int t = t8; t < t8 + kSavedEvery; t += 4) {
        float dt[4], u[4], dtu[4], y[4];
        unpack(*reinterpret_cast<const float4*>(delta_row + t), dt);
        unpack(*reinterpret_cast<const float4*>(u_row + t), u);
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          dtu[q] = dt[q] * u[q];
          y[q] = 0.0f;
        }
#pragma unroll
        for (int j = 0; j < kSlots; ++j) {
          float B[4], C[4];
          unpack(*reinterpret_cast<const float4*>(B_s + row[j] + t), B);
          unpack(*reinterpret_cast<const float4*>(C_s + row[j] + t), C);
#pragma unroll
          for (int q = 0; q < 4; ++q) {
            h[j] = fmaf(exp2_approx(dt[q] * A2[j]), h[j], dtu[q] * B[q]);
            y[q] = fmaf(C[q], h[j], y[q]);
          }
        }
#pragma unroll
        for (int q = 0; q < 4; ++q) y[q] = fmaf(D, u[q], sum_over_channel_lanes<kLanes>(y[q]));
        if (writes_y) store4(y_row + t0 + t, args.length - (t0 + t), aligned_y, y);
      }
      // h enters step t0 + t8 + kSavedEvery, where one of the backward's chunks starts.
      if (saved && t0 + t8 + kSavedEvery < args.length) {
        Saved::save(saved, h, layout.swap);
        saved += args.channels * Saved::kStride;
      }
    }
    __syncthreads();  // before the next chunk's tiles overwrite this one's
  }
}

template <int kLanes, typename T>
cudaError_t launch(const Inputs& in, const Sizes& s, void* y, float* saved_states,
                   cudaStream_t stream) {
  using Blocks = Layout<kLanes>;
  const ForwardArgs<T> args{static_cast<const T*>(in.u),
                            static_cast<const T*>(in.delta),
                            static_cast<const T*>(in.B),
                            static_cast<const T*>(in.C),
                            in.BC_batch_stride,
                            in.A,
                            in.D,
                            in.delta_bias,
                            static_cast<T*>(y),
                            saved_states,
                            s.channels,
                            s.length,
                            s.state,
                            (s.channels + Blocks::kChannels - 1) / Blocks::kChannels};
  const int64_t blocks = s.batch * args.blocks_per_row;
  if (blocks > INT32_MAX) return cudaErrorInvalidConfiguration;
  const size_t shared = (2 * Blocks::kChannels + 2 * Blocks::kStates) * kPitch * sizeof(float);
  const auto kernel = forward_kernel<kLanes, T>;
  if (const auto error = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                              static_cast<int>(shared)))
    return error;
  kernel<<<static_cast<unsigned>(blocks), kThreads, shared, stream>>>(args);
  return cudaGetLastError();
}

}  // namespace

int64_t saved_state_floats(const Sizes& sizes) {
  const int64_t chunks = (sizes.length + kSavedEvery - 1) / kSavedEvery;
  int64_t floats = 0;
  with_lanes(sizes.state, [&](auto lanes) {
    floats =
        sizes.batch * (chunks - 1) * sizes.channels * SavedStates<decltype(lanes)::value>::kStride;
    return cudaSuccess;
  });
  return chunks < 2 ? 0 : floats;
}

cudaError_t forward(const Inputs& in, const Sizes& sizes, void* y, float* saved_states,
                    cudaStream_t stream) {
  if (sizes.batch == 0 || sizes.channels == 0 || sizes.length == 0) return cudaSuccess;
  return with_type(in.dtype, [&](auto type) {
    return with_lanes(sizes.state, [&](auto lanes) {
      return launch<decltype(lanes)::value, typename decltype(type)::type>(in, sizes, y,
                                                                           saved_states, stream);
    });
  });
}

}  // namespace parrot::mamba::cuda_scan
