// A CUDA graph of work launched on the current stream: captured once, replayed many times.
// Built only against a LibTorch with CUDA (PARROT_TORCH_CUDA).
#pragma once

#include <functional>
#include <memory>

namespace parrot {

class CudaGraph {
 public:
  // Captures what `work` launches, on a side stream as CUDA requires; nothing runs yet. Throws
  // what the capture threw (an operation that syncs with the host cannot be captured).
  explicit CudaGraph(const std::function<void()>& work);
  ~CudaGraph();
  // Runs the captured work on the current stream.
  void replay();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parrot
