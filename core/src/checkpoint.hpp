// A run's checkpoint: model, optimizer, the LibTorch CPU generator (dropout) and the trainer's
// own state (counters, the curve so far, the data generator), in one LibTorch archive written
// atomically. What it holds is exactly what a resumed run needs to continue bit for bit on CPU.
#pragma once

#include "trainer.hpp"

#include <parrot/model.hpp>

#include <torch/optim/optimizer.h>

#include <array>
#include <filesystem>

namespace parrot {

struct TrainerState {
  int64_t step = 0;
  int64_t examples_seen = 0;
  int64_t examples_at_warmup_end = -1;  // -1 until the warm-up ends
  double loss_sum = 0;                  // since the latest curve point
  int64_t loss_count = 0;
  double train_seconds = 0;
  bool training_done = false;
  bool stopped_early = false;
  std::vector<CurvePoint> curve;
  std::array<uint64_t, 4> data_rng{};
};

void save_checkpoint(const std::filesystem::path& file, Model& model,
                     torch::optim::Optimizer& optimizer, const TrainerState& state);

// Restores model, optimizer and generator in place and returns the trainer's state. Throws
// InputError naming the file when it cannot be read.
TrainerState load_checkpoint(const std::filesystem::path& file, Model& model,
                             torch::optim::Optimizer& optimizer);

}  // namespace parrot
