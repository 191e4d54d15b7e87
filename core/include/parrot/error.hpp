// The exceptions parrot throws, by who is at fault: the user's input or a run that broke.
// The CLI maps them to exit codes (2 for InputError, 3 for a failed run).
#pragma once

#include <stdexcept>
#include <string>

namespace parrot {

// Bad input: a suite, a parameter, a plugin file. The message says what, where and what to do.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace parrot
