// --only and --shard.

#include "run_selection.hpp"

#include <parrot/error.hpp>

#include <fnmatch.h>

namespace parrot {

Shard parse_shard(const std::string& text) {
  const std::string expected = "--shard " + text + ": expected i/N with 1 <= i <= N, e.g. 2/4";
  const size_t slash = text.find('/');
  if (slash == std::string::npos) throw InputError(expected);
  try {
    size_t used = 0;
    Shard shard{std::stoll(text.substr(0, slash), &used), 0};
    if (used != slash) throw InputError(expected);
    shard.count = std::stoll(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) throw InputError(expected);
    if (shard.count < 1 || shard.index < 1 || shard.index > shard.count) throw InputError(expected);
    return shard;
  } catch (const std::logic_error&) {  // std::stoll: not a number, or out of range
    throw InputError(expected);
  }
}

std::vector<Run> select_runs(const std::vector<Run>& runs, const std::vector<std::string>& only,
                             const Shard& shard) {
  std::vector<Run> matching;
  std::vector<bool> glob_used(only.size(), false);
  for (const auto& run : runs) {
    bool match = only.empty();
    for (size_t i = 0; i < only.size(); ++i)
      if (::fnmatch(only[i].c_str(), run.name.c_str(), 0) == 0) match = glob_used[i] = true;
    if (match) matching.push_back(run);
  }
  for (size_t i = 0; i < only.size(); ++i)
    if (!glob_used[i]) {
      std::string names;
      for (size_t k = 0; k < runs.size() && k < 5; ++k) names += "\n  " + runs[k].name;
      if (runs.size() > 5) names += "\n  ... (" + std::to_string(runs.size()) + " runs)";
      throw InputError("--only '" + only[i] + "' matches no run; runs are named" + names);
    }
  std::vector<Run> selected;
  for (size_t k = 0; k < matching.size(); ++k)
    if (static_cast<int64_t>(k) % shard.count == shard.index - 1) selected.push_back(matching[k]);
  return selected;
}

}  // namespace parrot
