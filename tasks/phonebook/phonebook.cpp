// The phone book: names, numbers, the layout, and what a model must remember of it.

#include "phonebook.hpp"

#include <cmath>
#include <limits>
#include <set>

namespace parrot::phonebook {

Vocabulary Tokens::vocabulary() const {
  // Syllables print as consonant + vowel ("ba", "be", ..., "zu"), beyond the 80 of those as <i>.
  const std::string consonants = "bdfghklmnprstvwz", vowels = "aeiou";
  Vocabulary vocabulary;
  for (int64_t syllable = 0; syllable < syllables; ++syllable)
    vocabulary.names.push_back(syllable < 80
                                   ? std::string{consonants[syllable / 5], vowels[syllable % 5]}
                                   : "<" + std::to_string(syllable) + ">");
  for (char digit = '0'; digit <= '9'; ++digit) vocabulary.names.emplace_back(1, digit);
  vocabulary.names.insert(vocabulary.names.end(), {":", "\n", "$", "?", ".", "*"});
  vocabulary.pad = pad();
  return vocabulary;
}

int64_t PhonebookTask::distinct_names() const {
  int64_t names = 1;
  for (int64_t i = 0; i < name_syllables_; ++i) {
    if (names > std::numeric_limits<int64_t>::max() / tokens_.syllables)
      return std::numeric_limits<int64_t>::max();
    names *= tokens_.syllables;
  }
  return names;
}

void PhonebookTask::check_length(int64_t length) const {
  Task::check_length(length);
  if (length > distinct_names())
    throw InputError("a book of " + std::to_string(length) + " entries needs " +
                     std::to_string(length) + " distinct names, but names of " +
                     std::to_string(name_syllables_) + " syllables out of " +
                     std::to_string(tokens_.syllables) + " give only " +
                     std::to_string(distinct_names()) + " (raise syllables or name_syllables)");
}

Example PhonebookTask::sample(int64_t length, Rng& rng) const {
  check_length(length);  // with too few names the loop below would never end
  // Uniform names, redrawn when already in the book: a uniform book of distinct names.
  std::set<std::vector<int64_t>> taken;
  std::vector<std::vector<int64_t>> names, numbers;
  while (static_cast<int64_t>(names.size()) < length) {
    std::vector<int64_t> name(name_syllables_);
    for (auto& syllable : name) syllable = rng.uniform(0, tokens_.syllables - 1);
    if (taken.insert(name).second) names.push_back(std::move(name));
  }
  for (int64_t entry = 0; entry < length; ++entry) {
    std::vector<int64_t> number(digits_);
    number[0] = tokens_.digit(rng.uniform(6, 9));  // as in the paper
    for (int64_t i = 1; i < digits_; ++i) number[i] = tokens_.digit(rng.uniform(0, 9));
    numbers.push_back(std::move(number));
  }
  const int64_t asked = rng.uniform(0, length - 1);

  Example example;
  example.tokens.reserve(max_tokens(length));
  auto append = [&](const std::vector<int64_t>& part) {
    example.tokens.insert(example.tokens.end(), part.begin(), part.end());
  };
  example.tokens.push_back(tokens_.begin());
  for (int64_t entry = 0; entry < length; ++entry) {
    append(names[entry]);
    example.tokens.push_back(tokens_.colon());
    append(numbers[entry]);
    example.tokens.push_back(tokens_.newline());
  }
  example.tokens.push_back(tokens_.query());
  append(names[asked]);
  example.tokens.push_back(tokens_.colon());
  example.target.assign(example.tokens.size(), 0);
  // Only the number and the closing '.' are scored.
  append(numbers[asked]);
  example.tokens.push_back(tokens_.end());
  example.target.resize(example.tokens.size(), 1);
  return example;
}

int64_t PhonebookTask::max_tokens(int64_t length) const {
  const int64_t line = name_syllables_ + 1 + digits_ + 1;  // name : number newline
  return 1 + length * line + line + 1;                     // $, the book, ? name : number .
}

// The query comes after the book, so the state at `?` must answer for every name. Books with the
// same names and different numbers need different states: 4 * 10^(digits-1) numbers per entry.
// One example asks one name, though: a model holding part of the book answers part of the
// queries.
Schema schema() {
  return {int_param("syllables", 32, "distinct syllable tokens that names are made of"),
          int_param("name_syllables", 2, "syllables per name; names are distinct within a book"),
          int_param("digits", 7, "digits per number; the first is 6-9, as in the paper")};
}

std::shared_ptr<Task> make(const Params& params) {
  const int64_t syllables = params.integer("syllables");
  if (syllables < 1) params.fail("syllables", "names need at least 1 syllable to be made of");
  const int64_t name_syllables = params.integer("name_syllables");
  if (name_syllables < 1) params.fail("name_syllables", "a name needs at least 1 syllable");
  const int64_t digits = params.integer("digits");
  if (digits < 1) params.fail("digits", "a number needs at least 1 digit");
  return std::make_shared<PhonebookTask>(syllables, name_syllables, digits);
}

}  // namespace parrot::phonebook
