// A bounded queue filled by one producer thread.

#include "batch_prefetcher.hpp"

namespace parrot {

BatchPrefetcher::BatchPrefetcher(Sampler sample, const RngState& start, int depth, bool pin)
    : sample_(std::move(sample)),
      rng_(0),
      depth_(static_cast<size_t>(std::max(depth, 1))),
      pin_(pin),
      thread_([this, start] {
        rng_.set_state(start);
        produce();
      }) {}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void BatchPrefetcher::produce() {
  try {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || ready_.size() < depth_; });
        if (stopping_) return;
      }
      Batch batch = sample_(rng_);
      if (pin_) {
        batch.inputs = batch.inputs.pin_memory();
        batch.targets = batch.targets.pin_memory();
        batch.mask = batch.mask.pin_memory();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.push_back({std::move(batch), rng_.state()});
      }
      changed_.notify_all();
    }
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      failure_ = std::current_exception();
    }
    changed_.notify_all();
  }
}

BatchPrefetcher::Item BatchPrefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !ready_.empty() || failure_; });
  if (ready_.empty()) std::rethrow_exception(failure_);
  Item item = std::move(ready_.front());
  ready_.pop_front();
  lock.unlock();
  changed_.notify_all();
  return item;
}

}  // namespace parrot
