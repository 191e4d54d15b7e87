// The duplicated n-gram copy: copy's format and vocabulary, a repeated n-gram of exactly the
// asked length in every string, the length rule and determinism.

#include "dedup.hpp"
#include "copy.hpp"
#include "test_support.hpp"

#include <parrot/error.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace parrot {
namespace {

using ::testing::HasSubstr;

using test::spell;
using test::spell_targets;

// The string s of `$ s | s .`.
std::vector<int64_t> string_of(const Example& example) {
  const size_t length = (example.tokens.size() - 3) / 2;
  return {example.tokens.begin() + 1, example.tokens.begin() + 1 + length};
}

// The length of the longest substring that occurs at two positions (overlaps allowed).
int64_t longest_repeat(const std::vector<int64_t>& s) {
  int64_t longest = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = i + 1; j < s.size(); ++j) {
      int64_t common = 0;
      while (j + common < s.size() && s[i + common] == s[j + common]) ++common;
      longest = std::max(longest, common);
    }
  return longest;
}

TEST(DedupTask, VocabularyIsCopys) {
  const Vocabulary dedup = dedup::DedupTask(26, 5).vocabulary();
  const Vocabulary copy = copy::CopyTask(26).vocabulary();
  EXPECT_EQ(dedup.names, copy.names);
  EXPECT_EQ(dedup.pad, copy.pad);
}

TEST(DedupTask, FormatAndTargetsTokenByToken) {
  const dedup::DedupTask task(26, 3);
  Rng rng(123);
  const Example example = task.sample(12, rng);
  const Vocabulary vocabulary = task.vocabulary();
  const std::string text = spell(example.tokens, vocabulary);
  ASSERT_EQ(text.size(), 27u);
  const std::string s = text.substr(1, 12);
  EXPECT_EQ(text, "$" + s + "|" + s + ".");
  // As in copy: only the answer and the closing '.' are scored.
  EXPECT_EQ(spell_targets(example, vocabulary), "______________" + s + ".");
  EXPECT_EQ(task.max_tokens(12), 27);
  EXPECT_EQ(longest_repeat(string_of(example)), 3) << s;
}

TEST(DedupTask, EveryStringRepeatsAnNgramOfExactlyTheAskedLength) {
  struct Case {
    int64_t alphabet, ngram, length;
  };
  // Small alphabets force near misses (and at D=2, n=1, L=5 the de Bruijn limit); long n-grams
  // in short strings force overlapping occurrences.
  for (const Case c : {Case{26, 5, 20}, Case{26, 1, 30}, Case{2, 1, 5}, Case{2, 2, 9},
                       Case{3, 2, 14}, Case{4, 6, 9}, Case{26, 8, 9}}) {
    const dedup::DedupTask task(c.alphabet, c.ngram);
    ASSERT_NO_THROW(task.check_length(c.length));
    Rng rng(7);
    for (int i = 0; i < 2000; ++i) {
      const auto s = string_of(task.sample(c.length, rng));
      ASSERT_EQ(static_cast<int64_t>(s.size()), c.length);
      ASSERT_EQ(longest_repeat(s), c.ngram) << "D=" << c.alphabet << " L=" << c.length;
      for (int64_t letter : s) ASSERT_LT(letter, c.alphabet);
    }
  }
}

TEST(DedupTask, AtTheShortestLengthTheOccurrencesOverlap) {
  const dedup::DedupTask task(26, 4);
  Rng rng(1);
  for (int i = 0; i < 50; ++i) {
    const auto s = string_of(task.sample(5, rng));
    EXPECT_EQ(s, std::vector<int64_t>(5, s[0])) << "two 4-grams in 5 letters: one letter";
  }
}

TEST(DedupTask, LettersAndRepeatPositionsAreSpreadOut) {
  const dedup::DedupTask task(4, 2);
  Rng rng(5);
  std::vector<int> letters(4, 0), first_start(6, 0);
  for (int i = 0; i < 4000; ++i) {
    const auto s = string_of(task.sample(8, rng));
    for (int64_t letter : s) ++letters[letter];
    for (size_t a = 0; a + 2 <= s.size(); ++a)  // where the first repeated 2-gram starts
      if (std::search(s.begin() + a + 1, s.end(), s.begin() + a, s.begin() + a + 2) != s.end()) {
        ++first_start[a];
        break;
      }
  }
  for (int count : letters) EXPECT_NEAR(count, 8000, 800);  // 32000 letters over 4
  for (int count : first_start) EXPECT_GT(count, 40) << "every start is drawn";
}

TEST(DedupTask, SameSeedSameExamples) {
  const dedup::DedupTask task(26, 5);
  Rng a(9), b(9);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(task.sample(30, a).tokens, task.sample(30, b).tokens);
  Rng c(10);
  EXPECT_NE(task.sample(30, a).tokens, task.sample(30, c).tokens);
}

TEST(DedupTask, LengthRuleIsNgramPlusOneUpToWhereLongerRepeatsTakeOver) {
  const dedup::DedupTask task(26, 5);
  try {
    task.check_length(5);
    ADD_FAILURE() << "length 5 cannot repeat a 5-gram";
  } catch (const InputError& error) {
    EXPECT_THAT(error.what(), HasSubstr("length 5 is too short to repeat a 5-gram"));
    EXPECT_THAT(error.what(), HasSubstr("ngram + 1 = 6"));
  }
  EXPECT_NO_THROW(task.check_length(6));
  EXPECT_NO_THROW(task.check_length(1000));

  // Two letters, n = 1: a string of more than 2^2 + 1 letters repeats a 2-gram (de Bruijn).
  EXPECT_EQ(dedup::longest_length(1, 2), 5);
  const dedup::DedupTask binary(2, 1);
  EXPECT_NO_THROW(binary.check_length(5));
  try {
    binary.check_length(6);
    ADD_FAILURE() << "every binary string of 6 letters repeats a 2-gram";
  } catch (const InputError& error) {
    EXPECT_THAT(error.what(), HasSubstr("length 6 is too long for a repeated 1-gram without a "
                                        "repeated 2-gram over 2 letters"));
    EXPECT_THAT(error.what(), HasSubstr("the longest length is 5"));
  }

  // At the longest length strings still come quickly; one more letter is refused.
  for (const auto& [alphabet, ngram] : {std::pair{26, 1}, {26, 2}, {3, 2}, {2, 4}}) {
    const int64_t longest = dedup::longest_length(ngram, alphabet);
    const dedup::DedupTask at_limit(alphabet, ngram);
    EXPECT_THROW(at_limit.check_length(longest + 1), InputError);
    Rng rng(2);
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(longest_repeat(string_of(at_limit.sample(longest, rng))), ngram) << longest;
  }
}

TEST(DedupTask, MemoryBitsAreTheLettersOutsideTheCopiedNgram) {
  const dedup::DedupTask task(26, 5);
  EXPECT_DOUBLE_EQ(*task.memory_bits(50), 45 * std::log2(26.0));
}

TEST(DedupTask, RejectsBadParameters) {
  for (const auto& [key, value, expected] :
       {std::tuple{"alphabet", 1, "alphabet = 1: needs at least 2 letters"},
        {"ngram", 0, "ngram = 0: the repeated n-gram needs at least 1 letter"}}) {
    try {
      dedup::make(test::params_with(dedup::schema(), {{key, int64_t{value}}}));
      ADD_FAILURE() << key;
    } catch (const InputError& error) {
      EXPECT_THAT(error.what(), HasSubstr(expected));
    }
  }
}

}  // namespace
}  // namespace parrot
