// The CPU selective scan's forward and backward loops over a range of tasks. CMake compiles this
// file once per instruction set, naming it in PARROT_SCAN_ISA (baseline, avx2, avx512) and
// passing that set's compiler flags; selective_scan_cpu.cpp runs the best one the CPU has.
//
// Layout of the work. A task is one batch row and kChannelsPerTask channels. Inside a task, a
// block of channels is scanned together, one channel per SIMD lane: every lane runs the same
// recurrence with its own delta, u and A, so all arithmetic is on whole vectors with no
// dependence between lanes (a vector over the state would need a horizontal sum for y at every
// time step). The vectors are GCC/Clang vector extensions: plain arithmetic syntax, compiled to
// the instruction set's registers. B and C are shared by all channels of a batch row and come
// transposed to [batch, length, state], so that B_t[n] is one scalar broadcast to every lane.
//
// Backward. The forward saves no states (length x state per channel would dwarf the inputs);
// each block recomputes them into a buffer and then walks time backwards. Gradients of B and C
// sum over channels: a task adds its blocks lane by lane and sums the lanes once, into its own
// slice of a partial buffer. Gradients of A and D sum over batch rows: a task writes its row's
// share. selective_scan_cpu.cpp reduces the partials with one tensor sum each, so there are no
// atomics and the result does not depend on the number of threads.
//
// Nothing from LibTorch here, and standard templates only over this file's vector types, which
// differ between instruction sets (the header says why that matters).

#include "selective_scan_cpu_kernel.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#ifndef PARROT_SCAN_ISA
#error "PARROT_SCAN_ISA names the instruction set this build of the kernel is for"
#endif

namespace parrot::mamba::cpu_scan::PARROT_SCAN_ISA {
namespace {

// One register of the instruction set this file is compiled for. A vector type wider than the
// target's registers would not just be split: GCC turns its comparisons into scalar code.
#if defined(__AVX512F__)
constexpr size_t kVectorBytes = 64;
#elif defined(__AVX__)
constexpr size_t kVectorBytes = 32;
#else
constexpr size_t kVectorBytes = 16;  // SSE2 on x86-64, NEON on ARM
#endif
using FloatLanes = float __attribute__((vector_size(kVectorBytes)));
using DoubleLanes = double __attribute__((vector_size(kVectorBytes)));
using IntLanes = int32_t __attribute__((vector_size(kVectorBytes)));
// GCC ignores vector_size on a template parameter, hence one type per scalar type.
template <typename scalar_t>
struct LanesOf;
template <>
struct LanesOf<float> {
  using type = FloatLanes;
};
template <>
struct LanesOf<double> {
  using type = DoubleLanes;
};
template <typename scalar_t>
constexpr int64_t kLanes = kVectorBytes / sizeof(scalar_t);

// Vectors travel by reference: passing one wider than 16 bytes by value changes the calling
// convention between instruction sets, which compilers warn about.

// exp of the decay delta * A, in place. std::exp would go lane by lane through a call; this is
// Cephes' expf in vector arithmetic: round x / ln 2 to k, exp of the remainder by a degree-5
// polynomial, times 2^k built in the exponent bits; within 1e-7 relative. Below -87 the result
// would not be a normal float and is 0, as a full decay should be.
inline void exp_in_place(FloatLanes& x) {
  const FloatLanes low = FloatLanes{} - 87.0f, high = FloatLanes{} + 88.0f;
  const auto underflow = x < low;
  x = underflow ? low : x;
  x = x > high ? high : x;
  // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer without a call.
  const FloatLanes k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  // ln 2 in two parts, so that r = x - k ln 2 keeps its low bits.
  const FloatLanes r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
  FloatLanes p = FloatLanes{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const IntLanes two_to_k = (__builtin_convertvector(k, IntLanes) + 127) << 23;
  // Casting a vector to another of the same size reinterprets its bits.
  x = underflow ? FloatLanes{} : (p * r * r + r + 1.0f) * (FloatLanes)two_to_k;
}

// Double serves tests and careful users, who want the same exp as LibTorch's.
inline void exp_in_place(DoubleLanes& x) {
  for (int64_t w = 0; w < kLanes<double>; ++w) x[w] = std::exp(x[w]);
}

// One block of kLanes channels of one batch row, time-major: u[t] holds time step t of every
// lane. Lanes past the last channel hold zeros (delta = 0 keeps their state at zero) and are
// never written back.
template <typename scalar_t>
struct Block {
  using Lanes = typename LanesOf<scalar_t>::type;
  int64_t b = 0, first = 0, lanes = 0;  // batch row, first channel, channels in use
  std::vector<Lanes> u, delta;          // [length]
  std::vector<Lanes> A;                 // [state]
  Lanes D;

  explicit Block(const Sizes& s) : u(s.length), delta(s.length), A(s.state) {}

  void load(const Inputs<scalar_t>& in, const Sizes& s, int64_t row, int64_t channel) {
    b = row;
    first = channel;
    lanes = s.channels - channel < kLanes<scalar_t> ? s.channels - channel : kLanes<scalar_t>;
    for (auto& x : u) x = Lanes{};
    for (auto& x : delta) x = Lanes{};
    for (auto& x : A) x = Lanes{};
    D = Lanes{};
    for (int64_t w = 0; w < lanes; ++w) {
      const int64_t d = first + w;
      gather(in.u + (b * s.channels + d) * s.length, u, w);
      gather(in.delta + (b * s.channels + d) * s.length, delta, w);
      for (int64_t n = 0; n < s.state; ++n) A[n][w] = in.A[d * s.state + n];
      D[w] = in.D[d];
    }
  }

  // Lane w of x[t] for every t from a row of a [batch, channels, length] tensor, and back.
  static void gather(const scalar_t* row, std::vector<Lanes>& x, int64_t w) {
    for (size_t t = 0; t < x.size(); ++t) x[t][w] = row[t];
  }
  void store(const std::vector<Lanes>& x, scalar_t* out, const Sizes& s) const {
    for (int64_t w = 0; w < lanes; ++w) {
      scalar_t* row = out + (b * s.channels + first + w) * s.length;
      for (size_t t = 0; t < x.size(); ++t) row[t] = x[t][w];
    }
  }
};

// Calls body(b, group, first channel) for every block of tasks [begin, end).
template <typename scalar_t, typename Body>
void for_each_block(const Sizes& s, int64_t begin, int64_t end, Body body) {
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / s.groups, group = task % s.groups;
    const int64_t stop = (group + 1) * kChannelsPerTask;
    for (int64_t d = group * kChannelsPerTask; d < stop && d < s.channels; d += kLanes<scalar_t>)
      body(b, group, d);
  }
}

// ---------------------------------------------------------------------------------------------
// Forward: y_t = sum_n C_t[n] h_t[n] + D u_t, with h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t.

template <typename scalar_t>
void forward(const Inputs<scalar_t>& in, const Sizes& s, scalar_t* y_out, int64_t begin,
             int64_t end) {
  using Lanes = typename LanesOf<scalar_t>::type;
  Block<scalar_t> blk(s);
  std::vector<Lanes> h(s.state), y(s.length);
  for_each_block<scalar_t>(s, begin, end, [&](int64_t b, int64_t, int64_t first) {
    blk.load(in, s, b, first);
    for (auto& x : h) x = Lanes{};
    for (int64_t t = 0; t < s.length; ++t) {
      const Lanes& dt = blk.delta[t];
      const Lanes dtu = dt * blk.u[t];
      const scalar_t* B = in.Bt + (b * s.length + t) * s.state;
      const scalar_t* C = in.Ct + (b * s.length + t) * s.state;
      Lanes y_t = blk.D * blk.u[t];
      for (int64_t n = 0; n < s.state; ++n) {
        Lanes a = dt * blk.A[n];
        exp_in_place(a);
        h[n] = a * h[n] + dtu * B[n];
        y_t += C[n] * h[n];
      }
      y[t] = y_t;
    }
    blk.store(y, y_out, s);
  });
}

// ---------------------------------------------------------------------------------------------
// Backward. With g_t the gradient of the loss w.r.t. h_t (through y_t and h_{t+1}):
//   g_t      = gy_t C_t + a_{t+1} g_{t+1},        a_t = exp(delta_t A)
//   gC_t    += gy_t h_t                            (summed over channels)
//   gB_t    += g_t delta_t u_t                     (summed over channels)
//   gA      += g_t h_{t-1} a_t delta_t            (summed over time and batch)
//   gdelta_t = sum_n g_t (h_{t-1} a_t A + B_t u_t)
//   gu_t     = gy_t D + sum_n g_t delta_t B_t,     gD += gy_t u_t

template <typename scalar_t>
void backward(const Inputs<scalar_t>& in, const Sizes& s, const scalar_t* gy_all,
              const Gradients<scalar_t>& out, int64_t begin, int64_t end) {
  using Lanes = typename LanesOf<scalar_t>::type;
  const int64_t LN = s.length * s.state;
  Block<scalar_t> blk(s);
  std::vector<Lanes> decay(LN), states(LN);  // a_t and h_t for every t: [length][state]
  std::vector<Lanes> gB(LN), gC(LN);         // this task's sums, lane by lane
  std::vector<Lanes> zeros(s.state), g(s.state), gA(s.state);
  std::vector<Lanes> gy(s.length), gu(s.length), gdelta(s.length);
  int64_t task = -1;  // the task whose sums gB and gC hold

  // Sums the lanes of this task's gB and gC into its slices of the partial buffers.
  const auto flush = [&] {
    const int64_t b = task / s.groups, group = task % s.groups;
    scalar_t* gB_slice = out.gB_part + (group * s.batch + b) * LN;
    scalar_t* gC_slice = out.gC_part + (group * s.batch + b) * LN;
    for (int64_t i = 0; i < LN; ++i) {
      scalar_t sum_B = 0, sum_C = 0;
      for (int64_t w = 0; w < kLanes<scalar_t>; ++w) {
        sum_B += gB[i][w];
        sum_C += gC[i][w];
      }
      gB_slice[i] = sum_B;
      gC_slice[i] = sum_C;
    }
  };

  for_each_block<scalar_t>(s, begin, end, [&](int64_t b, int64_t group, int64_t first) {
    if (b * s.groups + group != task) {
      if (task >= 0) flush();
      task = b * s.groups + group;
      for (auto& x : gB) x = Lanes{};
      for (auto& x : gC) x = Lanes{};
    }
    blk.load(in, s, b, first);

    // Recompute the states, keeping a_t and h_t for the walk back.
    for (int64_t t = 0; t < s.length; ++t) {
      const Lanes& dt = blk.delta[t];
      const Lanes dtu = dt * blk.u[t];
      const scalar_t* B = in.Bt + (b * s.length + t) * s.state;
      const Lanes* h_prev = t > 0 ? &states[(t - 1) * s.state] : zeros.data();
      Lanes* a = &decay[t * s.state];
      Lanes* h = &states[t * s.state];
      for (int64_t n = 0; n < s.state; ++n) {
        a[n] = dt * blk.A[n];
        exp_in_place(a[n]);
        h[n] = a[n] * h_prev[n] + dtu * B[n];
      }
    }

    for (auto& x : gy) x = Lanes{};
    for (int64_t w = 0; w < blk.lanes; ++w)
      Block<scalar_t>::gather(gy_all + (b * s.channels + first + w) * s.length, gy, w);

    // Walk time backwards. g[n] holds a_{t+1} g_{t+1} on entry to step t.
    for (auto& x : g) x = Lanes{};
    for (auto& x : gA) x = Lanes{};
    Lanes gD{};
    for (int64_t t = s.length - 1; t >= 0; --t) {
      const Lanes& dt = blk.delta[t];
      const Lanes& u = blk.u[t];
      const Lanes& gy_t = gy[t];
      const Lanes dtu = dt * u;
      const scalar_t* B = in.Bt + (b * s.length + t) * s.state;
      const scalar_t* C = in.Ct + (b * s.length + t) * s.state;
      const Lanes* a = &decay[t * s.state];
      const Lanes* h = &states[t * s.state];
      const Lanes* h_prev = t > 0 ? h - s.state : zeros.data();
      Lanes* gB_t = &gB[t * s.state];
      Lanes* gC_t = &gC[t * s.state];
      Lanes decay_sum{}, input_sum{};
      for (int64_t n = 0; n < s.state; ++n) {
        const Lanes g_t = g[n] + gy_t * C[n];
        // The gradient w.r.t. a_t, times a_t: what delta and A both need.
        const Lanes g_decay = g_t * h_prev[n] * a[n];
        decay_sum += g_decay * blk.A[n];
        gA[n] += g_decay * dt;
        input_sum += g_t * B[n];
        gB_t[n] += g_t * dtu;
        gC_t[n] += gy_t * h[n];
        g[n] = g_t * a[n];
      }
      gdelta[t] = decay_sum + input_sum * u;
      gu[t] = gy_t * blk.D + input_sum * dt;
      gD += gy_t * u;
    }

    blk.store(gu, out.gu, s);
    blk.store(gdelta, out.gdelta, s);
    // A and D are shared by batch rows: this row's share goes to its own slot.
    for (int64_t w = 0; w < blk.lanes; ++w) {
      const int64_t d = first + w;
      for (int64_t n = 0; n < s.state; ++n)
        out.gA_part[(b * s.channels + d) * s.state + n] = gA[n][w];
      out.gD_part[b * s.channels + d] = gD[w];
    }
  });
  if (task >= 0) flush();
}

}  // namespace

Kernels kernels() {
#define PARROT_STRINGIFY(name) #name
#define PARROT_NAME_OF(name) PARROT_STRINGIFY(name)
  return {PARROT_NAME_OF(PARROT_SCAN_ISA),
          {forward<float>, backward<float>},
          {forward<double>, backward<double>}};
#undef PARROT_NAME_OF
#undef PARROT_STRINGIFY
}

}  // namespace parrot::mamba::cpu_scan::PARROT_SCAN_ISA
