// Log-spaced curve points.

#include "curve_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace parrot {

std::vector<int64_t> curve_schedule(int64_t points, int64_t budget) {
  std::set<int64_t> chosen;
  for (int64_t i = 0; i < points; ++i) {
    const double fraction = points == 1 ? 1.0 : static_cast<double>(i) / (points - 1);
    chosen.insert(
        std::max<int64_t>(1, std::llround(std::pow(static_cast<double>(budget), fraction))));
  }
  if (points > 0) chosen.insert(budget);
  return {chosen.begin(), chosen.end()};
}

int64_t curve_point_of(const std::vector<int64_t>& schedule, int64_t used) {
  const auto after = std::upper_bound(schedule.begin(), schedule.end(), used);
  return after == schedule.begin() ? used : *std::prev(after);
}

}  // namespace parrot
