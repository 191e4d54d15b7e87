// Edit distance ranking for "did you mean".

#include "suggest.hpp"

#include <algorithm>

namespace parrot {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace

std::string did_you_mean(const std::string& given, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const auto& candidate : candidates) {
    const size_t distance = edit_distance(given, candidate);
    if (!best || distance < best_distance) best = &candidate, best_distance = distance;
  }
  // A typo changes a few characters; beyond a third of the word it is a different word.
  if (!best || best_distance > std::max<size_t>(2, best->size() / 3)) return "";
  return " (did you mean '" + *best + "'?)";
}

}  // namespace parrot
