// Where a run measures its sample-efficiency curve. The trainer measures after each point of the
// schedule; the report uses the same schedule to line up the points of seeds whose steps saw
// different numbers of examples.
#pragma once

#include <cstdint>
#include <vector>

namespace parrot {

// The budget values (steps, or examples for an examples budget) after which the curve is
// measured: `points` values log-spaced in [1, budget], distinct, always ending at `budget`.
std::vector<int64_t> curve_schedule(int64_t points, int64_t budget);

// The schedule point a measurement taken once `used` of the budget was spent belongs to: the
// last one at or below `used`. A step that passes several points measures once, for the last.
int64_t curve_point_of(const std::vector<int64_t>& schedule, int64_t used);

}  // namespace parrot
