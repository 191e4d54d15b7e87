// The kept casts behind cast_weight (parrot/weight_cast.hpp): one per weight, in a table of the
// process keyed by the weight's TensorImpl, as autocast keeps its own cache. An entry holds the
// weight weakly, so that the TensorImpl's address is not reused while the entry is there; entries
// of weights that are gone are dropped when a new one comes.

#include <parrot/weight_cast.hpp>

#include "kept_weight_casts.hpp"

#include <c10/core/TensorImpl.h>
#include <c10/util/intrusive_ptr.h>
#include <torch/torch.h>

#include <mutex>
#include <unordered_map>

namespace parrot {
namespace {

struct KeptCast {
  c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl> weight;
  // The weight as the cast holds it: its version counter and storage. A weight moved to other
  // memory of the same size (set_data) keeps its TensorImpl and version but not its data.
  int64_t version;
  const void* data;
  torch::Tensor cast;

  bool fits(const torch::Tensor& w) const {
    return cast.sizes() == w.sizes() && cast.device() == w.device();
  }
  bool current(const torch::Tensor& w) const {
    return version == w._version() && data == w.data_ptr();
  }
  void mark_current(const torch::Tensor& w) {
    version = w._version();
    data = w.data_ptr();
  }
};

struct KeptCasts {
  std::mutex mutex;
  std::unordered_map<const c10::TensorImpl*, KeptCast> by_weight;
};

KeptCasts& kept_casts() {
  static KeptCasts* const casts = new KeptCasts;  // never destroyed: tensors outlive statics
  return *casts;
}

// The weight's entry where it still fits its cast, or null. An entry found is this weight's: its
// weak hold keeps any other TensorImpl from the address.
KeptCast* entry_of(KeptCasts& casts, const torch::Tensor& weight) {
  const auto found = casts.by_weight.find(weight.unsafeGetTensorImpl());
  if (found == casts.by_weight.end()) return nullptr;
  return found->second.fits(weight) ? &found->second : nullptr;
}

}  // namespace

torch::Tensor cast_weight(const torch::Tensor& weight, torch::ScalarType type) {
  if (weight.scalar_type() == type) return weight;
  if (at::GradMode::is_enabled() || weight.scalar_type() != torch::kFloat ||
      !weight.requires_grad() || !weight.is_leaf())
    return weight.to(type);
  KeptCasts& casts = kept_casts();
  const std::lock_guard<std::mutex> lock(casts.mutex);
  if (KeptCast* kept = entry_of(casts, weight); kept && kept->cast.scalar_type() == type) {
    if (!kept->current(weight)) {
      // In place: a CUDA graph captured with this cast reads its memory.
      kept->cast.copy_(weight);
      kept->mark_current(weight);
    }
    return kept->cast;
  }
  for (auto it = casts.by_weight.begin(); it != casts.by_weight.end();)
    it = it->second.weight.expired() ? casts.by_weight.erase(it) : std::next(it);
  KeptCast kept{
      c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>(weight.getIntrusivePtr()),
      weight._version(), weight.data_ptr(),
      weight.to(type, /*non_blocking=*/false, /*copy=*/false, torch::MemoryFormat::Contiguous)};
  const torch::Tensor cast = kept.cast;
  casts.by_weight.insert_or_assign(weight.unsafeGetTensorImpl(), std::move(kept));
  return cast;
}

torch::Tensor kept_cast_of(const torch::Tensor& weight) {
  KeptCasts& casts = kept_casts();
  const std::lock_guard<std::mutex> lock(casts.mutex);
  const KeptCast* kept = entry_of(casts, weight);
  return kept ? kept->cast : torch::Tensor();
}

void kept_cast_written(const torch::Tensor& weight) {
  KeptCasts& casts = kept_casts();
  const std::lock_guard<std::mutex> lock(casts.mutex);
  if (KeptCast* kept = entry_of(casts, weight)) kept->mark_current(weight);
}

}  // namespace parrot
