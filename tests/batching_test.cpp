// Row packing (training) and padding (evaluation): shapes, shifts, and which positions count.

#include "batching.hpp"
#include "copy.hpp"

#include <gtest/gtest.h>

namespace parrot {
namespace {

TEST(PackTrainingRows, RowsAreFullAndTargetsShiftByOne) {
  const copy::CopyTask task(26);
  Rng rng(5);
  const Batch batch = pack_training_rows(task, rng, 4, 41, 3, 6);
  ASSERT_EQ(batch.inputs.sizes(), (std::vector<int64_t>{4, 40}));
  ASSERT_EQ(batch.targets.sizes(), batch.inputs.sizes());
  ASSERT_EQ(batch.mask.sizes(), batch.inputs.sizes());
  using torch::indexing::Slice;
  EXPECT_TRUE(
      batch.inputs.index({Slice(), Slice(1)}).equal(batch.targets.index({Slice(), Slice(0, -1)})));
  // Every row starts with '$' and holds no padding: it is filled to the brim.
  const int64_t begin = 26;  // '$'
  EXPECT_TRUE(batch.inputs.index({Slice(), 0}).eq(begin).all().item<bool>());
  EXPECT_FALSE(batch.inputs.eq(task.vocabulary().pad).any().item<bool>());
}

TEST(PackTrainingRows, OnlyWholeExamplesAreScoredAndCounted) {
  const copy::CopyTask task(26);
  const int64_t width = 30;  // each example takes 2L+3 in [9, 15] tokens
  Rng rng(11);
  const Batch batch = pack_training_rows(task, rng, 3, width, 3, 6);

  // Replay the same draws to know where every example sits.
  Rng replay(11);
  int64_t whole = 0;
  for (int64_t row = 0; row < 3; ++row) {
    int64_t filled = 0;
    std::vector<bool> scored(width, false);
    while (filled < width) {
      const Example example = task.sample(replay.uniform(3, 6), replay);
      const int64_t size = static_cast<int64_t>(example.tokens.size());
      if (filled + size <= width) {
        ++whole;
        for (int64_t i = 0; i < size; ++i) scored[filled + i] = example.target[i];
      }
      filled += size;
    }
    for (int64_t i = 1; i < width; ++i)
      EXPECT_EQ(batch.mask[row][i - 1].item<bool>(), scored[i]) << "row " << row << " at " << i;
  }
  EXPECT_EQ(batch.examples, whole);
  EXPECT_GT(batch.examples, 0);
}

TEST(PadExamples, OneExamplePerRowPaddedAndNeverScoredOnPadding) {
  const copy::CopyTask task(26);
  Rng rng(2);
  const std::vector<Example> examples = {task.sample(2, rng), task.sample(4, rng)};
  const Batch batch = pad_examples(examples, task.vocabulary().pad);
  ASSERT_EQ(batch.inputs.sizes(), (std::vector<int64_t>{2, 10}));  // 2*4+3 tokens, minus one
  EXPECT_EQ(batch.examples, 2);
  // Row 0: 7 tokens, then padding; its last target is the '.' at position 6.
  EXPECT_EQ(batch.mask[0].sum().item<int64_t>(), 3);  // two letters and '.'
  EXPECT_EQ(batch.mask[1].sum().item<int64_t>(), 5);
  EXPECT_FALSE(batch.mask[0].index({torch::indexing::Slice(6)}).any().item<bool>());
  EXPECT_EQ(batch.targets[0][5].item<int64_t>(), 28);  // '.'
  EXPECT_EQ(batch.inputs[0][7].item<int64_t>(), task.vocabulary().pad);
}

}  // namespace
}  // namespace parrot
