// Autocast's per-thread settings for one device type, read and set the same way with every
// LibTorch parrot builds with. For code that must run part of a forward pass again under the
// autocast of the first time (gradient checkpointing), and for the `precision` setting.
#pragma once

#include <parrot/torch_version.hpp>

#include <ATen/autocast_mode.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace parrot {

struct AutocastState {
  bool enabled = false;
  at::ScalarType dtype = at::kBFloat16;
};

// LibTorch 2.4 replaced the per-device autocast functions with ones taking a device type.
#if PARROT_TORCH_AT_LEAST(2, 4)
inline AutocastState autocast_state(c10::DeviceType type) {
  return {at::autocast::is_autocast_enabled(type), at::autocast::get_autocast_dtype(type)};
}
inline void set_autocast_state(c10::DeviceType type, const AutocastState& state) {
  at::autocast::set_autocast_dtype(type, state.dtype);
  at::autocast::set_autocast_enabled(type, state.enabled);
}
#else
inline AutocastState autocast_state(c10::DeviceType type) {
  if (type == c10::DeviceType::CUDA)
    return {at::autocast::is_enabled(), at::autocast::get_autocast_gpu_dtype()};
  return {at::autocast::is_cpu_enabled(), at::autocast::get_autocast_cpu_dtype()};
}
inline void set_autocast_state(c10::DeviceType type, const AutocastState& state) {
  if (type == c10::DeviceType::CUDA) {
    at::autocast::set_autocast_gpu_dtype(state.dtype);
    at::autocast::set_enabled(state.enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(state.dtype);
    at::autocast::set_cpu_enabled(state.enabled);
  }
}
#endif

// Sets a thread's autocast for a scope and puts back what was there.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType type, const AutocastState& state)
      : type_(type), previous_(autocast_state(type)) {
    set_autocast_state(type, state);
  }
  ~AutocastGuard() { set_autocast_state(type_, previous_); }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType type_;
  AutocastState previous_;
};

// Turns off autocast's cache of cast weights for a scope.
class AutocastCacheOff {
 public:
  AutocastCacheOff() : previous_(at::autocast::is_autocast_cache_enabled()) {
    at::autocast::set_autocast_cache_enabled(false);
  }
  ~AutocastCacheOff() { at::autocast::set_autocast_cache_enabled(previous_); }
  AutocastCacheOff(const AutocastCacheOff&) = delete;
  AutocastCacheOff& operator=(const AutocastCacheOff&) = delete;

 private:
  bool previous_;
};

}  // namespace parrot
