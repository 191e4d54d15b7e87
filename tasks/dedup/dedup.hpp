// The paper's duplicated n-gram copy: `$ s | s .` where s repeats an n-gram of length exactly n.
// It probes how a copy-trained model copies: one that finds its place by looking up the last few
// letters loses its way at a repeated n-gram at least as long as what it looks up.
#pragma once

#include "copy.hpp"

#include <parrot/params.hpp>
#include <parrot/task.hpp>

#include <cmath>
#include <memory>
#include <string>

namespace parrot::dedup {

// The lengths at which strings with a repeated n-gram and no repeated (n+1)-gram are drawn run
// from n + 1 (one letter n + 1 times: two occurrences overlapping in all but one letter) to the
// longest length at which a uniform string of D letters still has no repeated (n+1)-gram with a
// chance of at least kLeastAcceptance, by the birthday estimate. Past it such strings are rare
// (past D^(n+1) + n letters none exist) and drawing them by rejection would take too long.
constexpr double kLeastAcceptance = 1e-3;
int64_t longest_length(int64_t ngram, int64_t alphabet);

class DedupTask : public Task {
 public:
  DedupTask(int64_t alphabet_size, int64_t ngram) : alphabet_{alphabet_size}, ngram_(ngram) {}

  // The copy task's vocabulary, so a model trained on copy can be evaluated here.
  Vocabulary vocabulary() const override { return alphabet_.vocabulary(); }
  Example sample(int64_t length, Rng& rng) const override;
  int64_t max_tokens(int64_t length) const override { return 2 * length + 3; }
  // As for copy, less the copied n-gram: the other L - n letters are uniform, so a model must
  // tell about D^(L-n) strings apart (a few more, as the repeat can sit anywhere; a few fewer,
  // as strings with a longer repeat are left out).
  std::optional<double> memory_bits(int64_t length) const override {
    return static_cast<double>(length - ngram_) * std::log2(static_cast<double>(alphabet_.letters));
  }
  void check_length(int64_t length) const override;

 private:
  bool try_draw(std::u32string& text, Rng& rng) const;

  copy::Alphabet alphabet_;
  int64_t ngram_;
};

Schema schema();
std::shared_ptr<Task> make(const Params& params);

}  // namespace parrot::dedup
