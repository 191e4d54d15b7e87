// The task side of the plugin boundary: a generator of examples over a fixed vocabulary.
// A task never sees tensors; the core packs its examples into rows and scores the targets.
#pragma once

#include <parrot/error.hpp>
#include <parrot/rng.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parrot {

struct Vocabulary {
  std::vector<std::string> names;  // names[id]: how token id prints
  int64_t pad = 0;                 // fills evaluation rows after an example ends; never a target
  int64_t size() const { return static_cast<int64_t>(names.size()); }
};

// One sampled instance. target[i] != 0 marks tokens[i] as one the model must predict (from
// tokens[:i]); tokens[0] is never a target.
struct Example {
  std::vector<int64_t> tokens;
  std::vector<uint8_t> target;
};

class Task {
 public:
  virtual ~Task() = default;

  virtual Vocabulary vocabulary() const = 0;

  // `length` is the task's own size knob (the string length for copy).
  virtual Example sample(int64_t length, Rng& rng) const = 0;

  // The most tokens an example of this length can have: sizes rows and catches examples that
  // cannot fit a training row.
  virtual int64_t max_tokens(int64_t length) const = 0;

  // The bits a model must carry from the prompt to the answer to get every example of this
  // length right: L*log2(D) for copy, whose D^L strings a state of b bits can tell apart only
  // 2^b of. Reports draw the bound accuracy <= 2^(state_bits - memory_bits) where it binds.
  // nullopt: the task states no such bound.
  virtual std::optional<double> memory_bits(int64_t length) const { return std::nullopt; }

  // Throws InputError saying why no example of this length exists; the core adds where.
  virtual void check_length(int64_t length) const {
    if (length < 1) throw InputError("length must be at least 1, got " + std::to_string(length));
  }
};

}  // namespace parrot
