// A synthetic phone book: `length` entries `name : number`, one per line, then a query for one of
// the names, answered by its number. The paper's phone-book look-up over tokens of its own rather
// than natural text, so that models can be trained on it from scratch.
#pragma once

#include <parrot/params.hpp>
#include <parrot/task.hpp>

#include <memory>

namespace parrot::phonebook {

// Token ids: syllables 0..S-1, digits 0..9 as S..S+9, then `:`, newline, `$`, `?`, `.` and the
// padding `*`.
struct Tokens {
  int64_t syllables;
  int64_t digit(int64_t value) const { return syllables + value; }
  int64_t colon() const { return syllables + 10; }
  int64_t newline() const { return syllables + 11; }
  int64_t begin() const { return syllables + 12; }
  int64_t query() const { return syllables + 13; }
  int64_t end() const { return syllables + 14; }
  int64_t pad() const { return syllables + 15; }
  Vocabulary vocabulary() const;
};

class PhonebookTask : public Task {
 public:
  PhonebookTask(int64_t syllables, int64_t name_syllables, int64_t digits)
      : tokens_{syllables}, name_syllables_(name_syllables), digits_(digits) {}

  Vocabulary vocabulary() const override { return tokens_.vocabulary(); }
  // `length` is the number of entries in the book.
  Example sample(int64_t length, Rng& rng) const override;
  int64_t max_tokens(int64_t length) const override;
  void check_length(int64_t length) const override;

 private:
  int64_t distinct_names() const;  // S^name_syllables, saturated at INT64_MAX

  Tokens tokens_;
  int64_t name_syllables_, digits_;
};

Schema schema();
std::shared_ptr<Task> make(const Params& params);

}  // namespace parrot::phonebook
