// Wilson interval and memory bound.

#include "report_statistics.hpp"

#include <algorithm>
#include <cmath>

namespace parrot {

Interval wilson_interval(int64_t correct, int64_t trials) {
  if (trials <= 0) return {0.0, 1.0};
  constexpr double z = 1.959963984540054;  // the standard normal's 97.5% quantile
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(correct) / n;
  const double z2 = z * z;
  const double center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

double memory_bound(double state_bits, double memory_bits) {
  return std::min(1.0, std::exp2(state_bits - memory_bits));
}

}  // namespace parrot
