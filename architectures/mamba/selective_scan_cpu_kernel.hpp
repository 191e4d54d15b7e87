// The inner loops of the CPU selective scan, compiled once per instruction set from
// selective_scan_cpu_kernel.cpp; selective_scan_cpu.cpp picks the best one the CPU runs.
//
// Only plain types and declarations here. That file is compiled with -mavx2 or -mavx512f, and an
// inline function or a header's static initializer compiled there could be the copy the linker
// keeps for the whole program, which would then crash on an older CPU.
#pragma once

#include <cstdint>
#include <vector>

namespace parrot::mamba::cpu_scan {

// Work is cut into tasks of one batch row and up to kChannelsPerTask channels: task i is batch
// row i / groups and channels [g, g + kChannelsPerTask) for g = (i % groups) * kChannelsPerTask.
// A multiple of every instruction set's lane count.
constexpr int64_t kChannelsPerTask = 64;

struct Sizes {
  int64_t batch, channels, length, state;
  int64_t groups;  // ceil(channels / kChannelsPerTask)
};

// Raw pointers into contiguous tensors: u, delta [batch, channels, length]; A [channels, state];
// Bt, Ct [batch, length, state] (B and C transposed); D [channels].
template <typename scalar_t>
struct Inputs {
  const scalar_t *u, *delta, *A, *Bt, *Ct, *D;
};

// Where the backward writes. gu and gdelta are final. The others are partial sums that
// selective_scan_cpu.cpp reduces: gA_part [batch, channels, state] and gD_part [batch, channels]
// per batch row; gB_part and gC_part [groups, batch, length, state] per task.
template <typename scalar_t>
struct Gradients {
  scalar_t *gu, *gdelta, *gA_part, *gD_part, *gB_part, *gC_part;
};

// One instruction set's kernels. Each runs tasks [begin, end) on the calling thread.
template <typename scalar_t>
struct ScanKernels {
  void (*forward)(const Inputs<scalar_t>& in, const Sizes& sizes, scalar_t* y, int64_t begin,
                  int64_t end);
  void (*backward)(const Inputs<scalar_t>& in, const Sizes& sizes, const scalar_t* gy,
                   const Gradients<scalar_t>& out, int64_t begin, int64_t end);
};

struct Kernels {
  const char* isa;
  ScanKernels<float> f32;
  ScanKernels<double> f64;
};

// One per build of selective_scan_cpu_kernel.cpp; the x86 ones exist only on x86-64.
namespace baseline {
Kernels kernels();
}
#if defined(__x86_64__)
namespace avx2 {
Kernels kernels();
}
namespace avx512 {
Kernels kernels();
}
#endif

// The kernels this build has and this CPU runs, best last (defined in selective_scan_cpu.cpp).
std::vector<Kernels> supported_kernels();
// Makes selective_scan_cpu use these kernels from now on (the best supported one until then):
// tests hold every instruction set to the reference.
void use_kernels(const Kernels& kernels);

}  // namespace parrot::mamba::cpu_scan
