// Rng: the same seed and stream give the same draws; uniform covers its range and no more.

#include <parrot/rng.hpp>

#include <gtest/gtest.h>

#include <set>

namespace parrot {
namespace {

TEST(Rng, SameSeedSameDraws) {
  Rng a(7), b(7), other_seed(8), other_stream(7, 1);
  bool differs_by_seed = false, differs_by_stream = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs_by_seed |= x != other_seed.next();
    differs_by_stream |= x != other_stream.next();
  }
  EXPECT_TRUE(differs_by_seed);
  EXPECT_TRUE(differs_by_stream);
}

TEST(Rng, UniformCoversBothEndsAndStaysInside) {
  Rng rng(1);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const int64_t x = rng.uniform(3, 9);
    ASSERT_GE(x, 3);
    ASSERT_LE(x, 9);
    seen.insert(x);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(rng.uniform(5, 5), 5);
  EXPECT_THROW(rng.uniform(2, 1), std::invalid_argument);
}

}  // namespace
}  // namespace parrot
