// The `deterministic` setting as a scope: LibTorch's deterministic algorithms (an operation
// that has none fails the run with an error that names it), cuDNN's deterministic convolutions
// without benchmarking, and on CUDA a fixed cuBLAS workspace, without which cuBLAS may change
// the order of its sums between calls. The switches are restored when the scope ends; the
// cuBLAS variable stays set for the process.
#pragma once

#include <torch/types.h>

namespace parrot {

class DeterminismScope {
 public:
  DeterminismScope(bool deterministic, const torch::Device& device);
  ~DeterminismScope();
  DeterminismScope(const DeterminismScope&) = delete;
  DeterminismScope& operator=(const DeterminismScope&) = delete;

 private:
  bool on_ = false;
  bool previous_algorithms_ = false;
  bool previous_warn_only_ = false;
  bool previous_cudnn_ = false;
  bool previous_benchmark_ = false;
};

}  // namespace parrot
