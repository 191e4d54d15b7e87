// Training batches sampled on a background thread, a few steps ahead of the step that needs
// them, so that the device never waits for examples. Each batch comes with the data generator's
// state after it, so a checkpoint records exactly where the data stream stands.
#pragma once

#include "batching.hpp"

#include <parrot/rng.hpp>

#include <array>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace parrot {

class BatchPrefetcher {
 public:
  using Sampler = std::function<Batch(Rng&)>;
  using RngState = std::array<uint64_t, 4>;

  struct Item {
    Batch batch;
    RngState rng_after;  // the generator's state once this batch was drawn
  };

  // Draws batches with `sample` from a generator in state `start`, keeping up to `depth` ready.
  // With `pin`, their tensors go to page-locked memory, from which copies to CUDA are async.
  BatchPrefetcher(Sampler sample, const RngState& start, int depth, bool pin);
  ~BatchPrefetcher();  // stops the thread; batches not taken are dropped
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The next batch in the order drawn; rethrows what the sampler threw.
  Item next();

 private:
  void produce();

  Sampler sample_;
  Rng rng_;
  const size_t depth_;
  const bool pin_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> ready_;
  std::exception_ptr failure_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace parrot
