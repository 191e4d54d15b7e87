// Process-wide settings that make CPU training fast; `suite` and the benchmarks apply them first.
// Each one was measured on a train step (docs/PERFORMANCE.md says by how much).
#pragma once

namespace parrot {

// - glibc maps large blocks fresh on every allocation and unmaps them on free; a training step
//   allocates the same large tensors every time, so steps paid for page faults and zeroing.
//   Freed memory now stays in the heap for reuse.
// - OpenBLAS runs its own thread pool inside LibTorch's OpenMP threads; both on the same cores
//   fight. OpenBLAS is told to stay on the calling thread, LibTorch parallelizes around it.
void configure_cpu_runtime();

}  // namespace parrot
