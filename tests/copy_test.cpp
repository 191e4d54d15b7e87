// The copy task: the paper's exact format, its targets, its vocabulary and determinism.

#include "copy.hpp"
#include "test_support.hpp"

#include <parrot/error.hpp>

#include <gtest/gtest.h>

namespace parrot {
namespace {

using test::spell;
using test::spell_targets;

TEST(CopyTask, VocabularyIsTheLettersThenBeginSeparatorEndPad) {
  const copy::CopyTask task(26);
  const Vocabulary vocabulary = task.vocabulary();
  ASSERT_EQ(vocabulary.size(), 30);
  EXPECT_EQ(vocabulary.names[0], "a");
  EXPECT_EQ(vocabulary.names[25], "z");
  EXPECT_EQ(vocabulary.names[26], "$");
  EXPECT_EQ(vocabulary.names[27], "|");
  EXPECT_EQ(vocabulary.names[28], ".");
  EXPECT_EQ(vocabulary.names[29], "*");
  EXPECT_EQ(vocabulary.pad, 29);
}

TEST(CopyTask, FormatAndTargetsTokenByToken) {
  const copy::CopyTask task(26);
  Rng rng(123);
  const Example example = task.sample(5, rng);
  const std::string text = spell(example.tokens, task.vocabulary());
  ASSERT_EQ(text.size(), 13u);
  const std::string s = text.substr(1, 5);
  EXPECT_EQ(text, "$" + s + "|" + s + ".");
  // Only the answer and the closing '.' are scored.
  EXPECT_EQ(spell_targets(example, task.vocabulary()), "_______" + s + ".");
  EXPECT_EQ(task.max_tokens(5), 13);
}

TEST(CopyTask, SameSeedSameExamplesAndLettersStayInTheAlphabet) {
  const copy::CopyTask task(3);
  Rng a(9), b(9);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 500; ++i) {
    const Example x = task.sample(8, a);
    EXPECT_EQ(x.tokens, task.sample(8, b).tokens);
    for (int j = 1; j <= 8; ++j) {
      ASSERT_LT(x.tokens[j], 3);
      ++counts[x.tokens[j]];
    }
  }
  for (int count : counts) EXPECT_GT(count, 1000);  // 4000 draws over 3 letters
}

TEST(CopyTask, RejectsBadAlphabetAndLength) {
  EXPECT_THROW(copy::make(test::params_with(copy::schema(), {{"alphabet", int64_t{1}}})),
               InputError);
  const auto task = copy::make(test::params_with(copy::schema()));
  EXPECT_THROW(task->check_length(0), InputError);
  EXPECT_NO_THROW(task->check_length(1));
}

}  // namespace
}  // namespace parrot
