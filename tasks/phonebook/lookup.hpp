// The paper's lookup tasks: a uniform string s, a key k (an n-gram of s) and the answer v, the
// letters that follow the key's first occurrence in s. With the key first, `$ k | s | v .`, a
// model can match it while reading s; with the key last, `$ s | k v .`, it must hold all of s.
#pragma once

#include "copy.hpp"

#include <parrot/params.hpp>
#include <parrot/task.hpp>

#include <memory>

namespace parrot::lookup {

enum class KeyAt { kPrefix, kSuffix };

class LookupTask : public Task {
 public:
  LookupTask(KeyAt key_at, int64_t alphabet_size, int64_t ngram, int64_t answer)
      : key_at_(key_at), alphabet_{alphabet_size}, ngram_(ngram), answer_(answer) {}

  // The copy task's vocabulary; `|` separates the key, the string and the answer.
  Vocabulary vocabulary() const override { return alphabet_.vocabulary(); }
  Example sample(int64_t length, Rng& rng) const override;
  int64_t max_tokens(int64_t length) const override;
  std::optional<double> memory_bits(int64_t length) const override;
  void check_length(int64_t length) const override;

 private:
  KeyAt key_at_;
  copy::Alphabet alphabet_;
  int64_t ngram_, answer_;
};

Schema schema();
std::shared_ptr<Task> make(const Params& params, KeyAt key_at);

}  // namespace parrot::lookup
