// "Did you mean" for misspelled names: keys, components, choices.
// Returns a ready-to-append hint, empty when nothing is close enough to be a likely typo.
#pragma once

#include <string>
#include <vector>

namespace parrot {

std::string did_you_mean(const std::string& given, const std::vector<std::string>& candidates);

}  // namespace parrot
