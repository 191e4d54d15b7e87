// The random generator tasks sample from: xoshiro256** seeded through splitmix64.
// Written out rather than taken from <random> so the same seed gives the same data everywhere.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>

namespace parrot {

class Rng {
 public:
  // One generator per (seed, stream): e.g. training data and evaluation data of one run never share
  // draws.
  explicit Rng(uint64_t seed, uint64_t stream = 0) {
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (auto& word : state_) word = splitmix64(x);
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [lo, hi], both ends included; rejection sampling keeps it exactly uniform.
  int64_t uniform(int64_t lo, int64_t hi) {
    if (hi < lo) throw std::invalid_argument("Rng::uniform: empty range");
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    if (span == 0) return static_cast<int64_t>(next());  // the full 64-bit range
    const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t draw;
    do draw = next();
    while (draw >= limit);
    return lo + static_cast<int64_t>(draw % span);
  }

  // The whole state, so a checkpoint can stop a generator and resume it exactly.
  std::array<uint64_t, 4> state() const { return {state_[0], state_[1], state_[2], state_[3]}; }
  void set_state(const std::array<uint64_t, 4>& state) {
    for (int i = 0; i < 4; ++i) state_[i] = state[i];
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t state_[4];
};

}  // namespace parrot
