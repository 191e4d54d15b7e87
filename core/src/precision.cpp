// Autocast and TF32 switches.

#include "precision.hpp"

#include <parrot/autocast.hpp>

#include <ATen/Context.h>

namespace parrot {
PrecisionScope::PrecisionScope(const std::string& precision, const torch::Device& device) {
  if (precision == "bf16") {
    autocast_.emplace(device.type(), AutocastState{true, at::kBFloat16});
    // The cache keeps each weight's bfloat16 copy until autocast is left, which here is after
    // the run: with it on, every step after the first would compute with the first step's
    // weights. It also may not span a CUDA graph capture.
    cache_off_.emplace();
  } else if (precision == "tf32") {
    tf32_ = true;
    previous_tf32_cublas_ = at::globalContext().allowTF32CuBLAS();
    previous_tf32_cudnn_ = at::globalContext().allowTF32CuDNN();
    at::globalContext().setAllowTF32CuBLAS(true);
    at::globalContext().setAllowTF32CuDNN(true);
  }
}

PrecisionScope::~PrecisionScope() {
  if (tf32_) {
    at::globalContext().setAllowTF32CuBLAS(previous_tf32_cublas_);
    at::globalContext().setAllowTF32CuDNN(previous_tf32_cudnn_);
  }
}

}  // namespace parrot
