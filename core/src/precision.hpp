// The `precision` setting as a scope: fp32 as LibTorch defaults; tf32 lets CUDA matmuls and
// convolutions use TF32; bf16 runs forward passes under autocast to bfloat16 (weights, optimizer
// state and gradients stay fp32). Everything is restored when the scope ends.
#pragma once

#include <parrot/autocast.hpp>

#include <torch/types.h>

#include <optional>
#include <string>

namespace parrot {

class PrecisionScope {
 public:
  PrecisionScope(const std::string& precision, const torch::Device& device);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  std::optional<AutocastGuard> autocast_;
  std::optional<AutocastCacheOff> cache_off_;
  bool tf32_ = false;
  bool previous_tf32_cublas_ = false;
  bool previous_tf32_cudnn_ = false;
};

}  // namespace parrot
