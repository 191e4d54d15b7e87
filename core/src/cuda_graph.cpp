// CUDA graph capture with LibTorch's CUDAGraph: allocations during capture come from the graph's
// private pool, so the tensors the work created stay valid across replays.

#include "cuda_graph.hpp"

#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace parrot {

struct CudaGraph::Impl {
  at::cuda::CUDAGraph graph;
};

CudaGraph::CudaGraph(const std::function<void()>& work) : impl_(std::make_unique<Impl>()) {
  const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream();
  const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  at::cuda::CUDAEvent before, after;
  before.record(caller);
  before.block(side);  // the capture follows what the caller already queued
  {
    const c10::cuda::CUDAStreamGuard on_side(side);
    // Thread-local: the data thread may allocate pinned memory meanwhile, which a global
    // capture would count as an error.
    impl_->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    try {
      work();
    } catch (...) {
      try {
        impl_->graph.capture_end();  // ends the broken capture; reports it by throwing
      } catch (...) {
      }
      throw;
    }
    impl_->graph.capture_end();
  }
  after.record(side);
  after.block(caller);
}

CudaGraph::~CudaGraph() = default;

void CudaGraph::replay() { impl_->graph.replay(); }

}  // namespace parrot
