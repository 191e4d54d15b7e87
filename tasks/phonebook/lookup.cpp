// The lookup tasks: drawing a key and its answer, the two layouts, and what each must remember.

#include "lookup.hpp"

#include <algorithm>
#include <cmath>

namespace parrot::lookup {
namespace {

// One drawn lookup, before it is laid out.
struct Lookup {
  std::vector<int64_t> text, key, answer;
};

// s is uniform; the key starts at a uniform position among those followed by at least `answer`
// letters, so its first occurrence (there or earlier) is too. Keys that occur more than once are
// drawn more often, as positions are drawn, not n-grams.
Lookup draw(const copy::Alphabet& alphabet, int64_t ngram, int64_t answer, int64_t length,
            Rng& rng) {
  Lookup lookup;
  lookup.text.resize(length);
  for (auto& letter : lookup.text) letter = rng.uniform(0, alphabet.letters - 1);
  const auto begin = lookup.text.begin();
  const int64_t at = rng.uniform(0, length - ngram - answer);
  lookup.key.assign(begin + at, begin + at + ngram);
  const int64_t first =
      std::search(begin, begin + at + ngram, lookup.key.begin(), lookup.key.end()) - begin;
  lookup.answer.assign(begin + first + ngram, begin + first + ngram + answer);
  return lookup;
}

}  // namespace

Example LookupTask::sample(int64_t length, Rng& rng) const {
  check_length(length);  // a clear error rather than an empty range to draw from
  const Lookup lookup = draw(alphabet_, ngram_, answer_, length, rng);
  Example example;
  example.tokens.reserve(max_tokens(length));
  auto append = [&](const std::vector<int64_t>& letters) {
    example.tokens.insert(example.tokens.end(), letters.begin(), letters.end());
  };
  example.tokens.push_back(alphabet_.begin());
  if (key_at_ == KeyAt::kPrefix) {  // $ k | s | v .
    append(lookup.key);
    example.tokens.push_back(alphabet_.separator());
    append(lookup.text);
    example.tokens.push_back(alphabet_.separator());
  } else {  // $ s | k v .
    append(lookup.text);
    example.tokens.push_back(alphabet_.separator());
    append(lookup.key);
  }
  example.target.assign(example.tokens.size(), 0);
  // Only the answer and the closing '.' are scored.
  append(lookup.answer);
  example.tokens.push_back(alphabet_.end());
  example.target.resize(example.tokens.size(), 1);
  return example;
}

int64_t LookupTask::max_tokens(int64_t length) const {
  const int64_t separators = key_at_ == KeyAt::kPrefix ? 2 : 1;
  return 2 + separators + length + ngram_ + answer_;  // $ and . too
}

// Prefix key: a model can match the key while reading s and needs to hold only the answer from
// its first occurrence on; the state at the second `|` must single out one of the D^answer
// answers. (Early on it also holds the key, but a model that kept only part of it can still
// guess among the n-grams of s, so the key gives no such bound.)
// Suffix key: the key comes after s, so the state at `|` must answer every key. Two strings that
// share their first n letters share the key at position 0, so they need the same answer, hence
// the same next n-gram as a key, and so on: a model right on every key tells all D^(L-n) of them
// apart. One example asks one key, though: a model holding part of s answers part of the keys.
// Prefix: the state at the second `|` must single out one of D^answer answers, so one example's
// accuracy is at most 2^(state - answer log2 D). Suffix: a state must hold (L - ngram) log2 D bits
// to answer every key of a string, but an example asks one key, and a state that holds part of the
// string still answers a share of them: no bound on one example's accuracy follows.
std::optional<double> LookupTask::memory_bits(int64_t length) const {
  if (key_at_ == KeyAt::kSuffix) return std::nullopt;
  return static_cast<double>(answer_) * std::log2(static_cast<double>(alphabet_.letters));
}

void LookupTask::check_length(int64_t length) const {
  if (length < ngram_ + answer_)
    throw InputError("length " + std::to_string(length) +
                     " is shorter than ngram + answer = " + std::to_string(ngram_) + " + " +
                     std::to_string(answer_) + ": no key can be followed by its " +
                     std::to_string(answer_) + "-letter answer");
}

Schema schema() {
  return {
      int_param("alphabet", 26, "number of letters D, as in copy; strings are uniform over them"),
      int_param("ngram", 3, "letters in the key, an n-gram of the string"),
      int_param("answer", 4, "letters in the answer, those after the key's first occurrence")};
}

std::shared_ptr<Task> make(const Params& params, KeyAt key_at) {
  const int64_t alphabet = params.integer("alphabet");
  if (alphabet < 2) params.fail("alphabet", "needs at least 2 letters");
  const int64_t ngram = params.integer("ngram");
  if (ngram < 1) params.fail("ngram", "the key needs at least 1 letter");
  const int64_t answer = params.integer("answer");
  if (answer < 1) params.fail("answer", "the answer needs at least 1 letter");
  return std::make_shared<LookupTask>(key_at, alphabet, ngram, answer);
}

}  // namespace parrot::lookup
