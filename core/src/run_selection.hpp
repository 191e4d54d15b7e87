// Which of a suite's runs one invocation takes: --only globs over run names, then --shard i/N,
// the i-th of N interleaved parts of what is left (so every shard gets a like mix of runs, and
// the N shards partition the runs).
#pragma once

#include "suite.hpp"

#include <string>
#include <vector>

namespace parrot {

struct Shard {
  int64_t index = 1;  // 1..count
  int64_t count = 1;
};

// "i/N" with 1 <= i <= N; throws InputError otherwise.
Shard parse_shard(const std::string& text);

// The runs whose names match any glob (all when there is none) and fall in the shard, in the
// suite's order. Throws InputError when a glob matches no run, listing some names.
std::vector<Run> select_runs(const std::vector<Run>& runs, const std::vector<std::string>& only,
                             const Shard& shard);

}  // namespace parrot
