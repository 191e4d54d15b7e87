// How parrot's CUDA benchmarks time a pass: on the GPU, from CUDA events.
#pragma once

#include <ATen/cuda/CUDAEvent.h>
#include <benchmark/benchmark.h>

namespace parrot::bench {

// Times `pass` with CUDA events, after one untimed run (allocations, first launches). Each
// iteration times a burst of passes, so that the GPU never waits for the CPU to launch the next
// one; the time reported is per pass, and so is the mean returned, in seconds.
template <typename Pass>
double time_on_gpu(benchmark::State& state, Pass pass) {
  constexpr int kBurst = 10;
  at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);
  pass();
  double seconds = 0;
  for (auto _ : state) {
    start.record();
    for (int i = 0; i < kBurst; ++i) pass();
    stop.record();
    stop.synchronize();
    const double elapsed = start.elapsed_time(stop) / 1e3 / kBurst;
    seconds += elapsed;
    state.SetIterationTime(elapsed);
  }
  return seconds / static_cast<double>(state.iterations());
}

}  // namespace parrot::bench
