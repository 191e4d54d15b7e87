// Autocast and TF32 switches, across the LibTorch versions parrot builds with.

#include "precision.hpp"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace parrot {
namespace {

// LibTorch 2.4 replaced the per-device autocast functions with ones taking a device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(torch::DeviceType type) { return at::autocast::is_autocast_enabled(type); }
void set_autocast(torch::DeviceType type, bool enabled) {
  at::autocast::set_autocast_dtype(type, at::kBFloat16);
  at::autocast::set_autocast_enabled(type, enabled);
}
#else
bool autocast_enabled(torch::DeviceType type) {
  return type == torch::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void set_autocast(torch::DeviceType type, bool enabled) {
  if (type == torch::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(enabled);
  }
}
#endif

}  // namespace

PrecisionScope::PrecisionScope(const std::string& precision, const torch::Device& device)
    : device_type_(device.type()) {
  if (precision == "bf16") {
    autocast_ = true;
    previous_autocast_ = autocast_enabled(device_type_);
    set_autocast(device_type_, true);
  } else if (precision == "tf32") {
    tf32_ = true;
    previous_tf32_cublas_ = at::globalContext().allowTF32CuBLAS();
    previous_tf32_cudnn_ = at::globalContext().allowTF32CuDNN();
    at::globalContext().setAllowTF32CuBLAS(true);
    at::globalContext().setAllowTF32CuDNN(true);
  }
}

PrecisionScope::~PrecisionScope() {
  if (autocast_) {
    set_autocast(device_type_, previous_autocast_);
    at::autocast::clear_cache();
  }
  if (tf32_) {
    at::globalContext().setAllowTF32CuBLAS(previous_tf32_cublas_);
    at::globalContext().setAllowTF32CuDNN(previous_tf32_cudnn_);
  }
}

}  // namespace parrot
