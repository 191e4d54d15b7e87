// The copy task: format, targets and its one parameter.

#include "copy.hpp"

namespace parrot::copy {

Vocabulary Alphabet::vocabulary() const {
  Vocabulary vocabulary;
  for (int64_t letter = 0; letter < letters; ++letter)
    vocabulary.names.push_back(letter < 26 ? std::string(1, static_cast<char>('a' + letter))
                                           : "<" + std::to_string(letter) + ">");
  vocabulary.names.insert(vocabulary.names.end(), {"$", "|", ".", "*"});
  vocabulary.pad = pad();
  return vocabulary;
}

Example Alphabet::copy_example(const std::vector<int64_t>& text) const {
  Example example;
  example.tokens.reserve(2 * text.size() + 3);
  example.tokens.push_back(begin());
  example.tokens.insert(example.tokens.end(), text.begin(), text.end());
  example.tokens.push_back(separator());
  example.target.assign(example.tokens.size(), 0);
  // The answer and the closing '.' are scored; the prompt never is.
  example.tokens.insert(example.tokens.end(), text.begin(), text.end());
  example.tokens.push_back(end());
  example.target.resize(example.tokens.size(), 1);
  return example;
}

Example CopyTask::sample(int64_t length, Rng& rng) const {
  std::vector<int64_t> text(length);
  for (auto& letter : text) letter = rng.uniform(0, alphabet_.letters - 1);

  return alphabet_.copy_example(text);
}

Schema schema() {
  return {int_param("alphabet", 26, "number of letters D; strings are uniform over them")};
}

std::shared_ptr<Task> make(const Params& params) {
  const int64_t alphabet = params.integer("alphabet");
  if (alphabet < 2) params.fail("alphabet", "needs at least 2 letters");
  return std::make_shared<CopyTask>(alphabet);
}

}  // namespace parrot::copy
