// The duplicated n-gram copy: the paper's construction, drawn by rejection so that the repeated
// n-gram has exactly the asked length.

#include "dedup.hpp"

#include <algorithm>
#include <limits>
#include <unordered_set>

namespace parrot::dedup {
namespace {

// Whether a uniform string of `length` letters lacks a repeated (n+1)-gram with a chance of at
// least kLeastAcceptance. Birthday estimate: were its m = L - n windows of n + 1 letters
// independent, they would all differ with chance prod_{k < m} (1 - k / N), N = D^(n+1). As
// -x / (1 - x) <= log(1 - x) <= -x, its log lies within [-S / (1 - (m-1) / N), -S] for
// S = m (m - 1) / 2N: only between those bounds is the product worked out.
bool drawable(int64_t length, int64_t ngram, int64_t alphabet) {
  const double kinds = std::pow(static_cast<double>(alphabet), static_cast<double>(ngram + 1));
  const double windows = static_cast<double>(length - ngram), least = std::log(kLeastAcceptance);
  if (windows > kinds) return false;  // more windows than (n+1)-grams: one repeats
  const double sum = windows * (windows - 1) / (2 * kinds);
  if (-sum < least) return false;
  if (windows < kinds && -sum / (1 - (windows - 1) / kinds) >= least) return true;
  double log_chance = 0;
  for (int64_t k = 1; k < length - ngram; ++k)
    log_chance += std::log1p(-static_cast<double>(k) / kinds);
  return log_chance >= least;
}

}  // namespace

int64_t longest_length(int64_t ngram, int64_t alphabet) {
  // Doubling then bisection: drawable() holds on an interval from n + 1.
  int64_t good = ngram + 1, bad = 2 * good;
  while (bad < std::numeric_limits<int64_t>::max() / 2 && drawable(bad, ngram, alphabet))
    good = bad, bad *= 2;
  while (bad - good > 1) {
    const int64_t middle = good + (bad - good) / 2;
    (drawable(middle, ngram, alphabet) ? good : bad) = middle;
  }
  return good;
}

void DedupTask::check_length(int64_t length) const {
  const std::string n = std::to_string(ngram_);
  if (length < ngram_ + 1)
    throw InputError("length " + std::to_string(length) + " is too short to repeat a " + n +
                     "-gram: two occurrences need at least ngram + 1 = " +
                     std::to_string(ngram_ + 1) + " letters");
  if (!drawable(length, ngram_, alphabet_.letters))
    throw InputError("length " + std::to_string(length) + " is too long for a repeated " + n +
                     "-gram without a repeated " + std::to_string(ngram_ + 1) + "-gram over " +
                     std::to_string(alphabet_.letters) +
                     " letters: almost every uniform string that long repeats a longer n-gram; "
                     "the longest length is " +
                     std::to_string(longest_length(ngram_, alphabet_.letters)) +
                     " (a longer ngram or more letters allow more)");
}

// One try of the paper's construction, left to right: every letter uniform except the n-gram at
// `to`, a copy of the one at `from` (copied from the left, so occurrences that overlap make a
// run of period to - from). It gives up at the first repeated (n+1)-gram, which no later letter
// can undo, so trying again until one succeeds is rejection sampling: the strings come out
// exactly as the construction makes them, conditioned on having no repeated (n+1)-gram.
bool DedupTask::try_draw(std::u32string& text, Rng& rng) const {
  const int64_t length = static_cast<int64_t>(text.size()), starts = length - ngram_ + 1;
  const int64_t first = rng.uniform(0, starts - 1);
  int64_t second = rng.uniform(0, starts - 2);
  if (second >= first) ++second;  // a uniform pair of distinct starts
  const auto [from, to] = std::minmax(first, second);

  const std::u32string_view view(text);
  std::unordered_set<std::u32string_view> windows;
  windows.reserve(length);
  for (int64_t at = 0; at < length; ++at) {
    text[at] = at >= to && at < to + ngram_
                   ? text[at - (to - from)]
                   : static_cast<char32_t>(rng.uniform(0, alphabet_.letters - 1));
    if (at >= ngram_ && !windows.insert(view.substr(at - ngram_, ngram_ + 1)).second) return false;
  }
  return true;
}

Example DedupTask::sample(int64_t length, Rng& rng) const {
  check_length(length);  // outside it the loop below could run for ages
  std::u32string text(length, 0);
  while (!try_draw(text, rng)) {
  }
  return alphabet_.copy_example({text.begin(), text.end()});
}

Schema schema() {
  return {
      int_param("alphabet", 26, "number of letters D, as in copy; strings are uniform over them"),
      int_param("ngram", 5,
                "n: the string repeats an n-gram and no (n+1)-gram (the paper's Transformers "
                "fail from 5)")};
}

std::shared_ptr<Task> make(const Params& params) {
  const int64_t alphabet = params.integer("alphabet");
  if (alphabet < 2) params.fail("alphabet", "needs at least 2 letters");
  const int64_t ngram = params.integer("ngram");
  if (ngram < 1) params.fail("ngram", "the repeated n-gram needs at least 1 letter");
  return std::make_shared<DedupTask>(alphabet, ngram);
}

}  // namespace parrot::dedup
