// The paper's copy task: `$ s | s .` for a uniform random string s over the first D letters.
// Exposed as a class so tests and other string tasks can use it without loading the plugin.
#pragma once

#include <parrot/params.hpp>
#include <parrot/task.hpp>

#include <cmath>
#include <memory>

namespace parrot::copy {

// Token ids shared by the paper's string tasks: letters 0..D-1, then the four specials.
struct Alphabet {
  int64_t letters;
  int64_t begin() const { return letters; }          // $
  int64_t separator() const { return letters + 1; }  // |
  int64_t end() const { return letters + 2; }        // .
  int64_t pad() const { return letters + 3; }        // *
  Vocabulary vocabulary() const;
  // `$ text | text .`, the answer and the closing '.' scored: copy's format, which dedup shares.
  Example copy_example(const std::vector<int64_t>& text) const;
};

class CopyTask : public Task {
 public:
  explicit CopyTask(int64_t alphabet_size) : alphabet_{alphabet_size} {}

  Vocabulary vocabulary() const override { return alphabet_.vocabulary(); }
  Example sample(int64_t length, Rng& rng) const override;
  int64_t max_tokens(int64_t length) const override { return 2 * length + 3; }
  std::optional<double> memory_bits(int64_t length) const override {
    return static_cast<double>(length) * std::log2(static_cast<double>(alphabet_.letters));
  }

 private:
  Alphabet alphabet_;
};

Schema schema();
std::shared_ptr<Task> make(const Params& params);

}  // namespace parrot::copy
