// Sweeps: a parameter given as a list of values (or as a list of lists, for a list parameter),
// or an entry of [matrix], is an axis; the runs are the cross product of the axes.
#pragma once

#include "suite_document.hpp"

#include <parrot/params.hpp>

#include <set>
#include <string>
#include <vector>

namespace parrot {

struct SweepAxis {
  std::string path;  // dotted: "train.learning_rate"
  std::vector<const toml::node*> values;
};

// The axes [matrix] declares: `"train.learning_rate" = [1e-3, 3e-4]`, or the same nested as
// [matrix.train]. Throws InputError for an entry that is not a non-empty array.
std::vector<SweepAxis> matrix_axes(const SuiteDocument& document);

// Adds an axis for every entry of the table at `path` that holds several values of its schema
// type: an array for a scalar parameter, an array of arrays for an int list. Keys in `reserved`
// and keys the schema does not know are left to the reader that checks them.
void add_inline_axes(const SuiteDocument& document, const std::string& path, const Schema& schema,
                     const std::set<std::string>& reserved, std::vector<SweepAxis>& axes);

// Every point of the cross product (the first axis varies slowest), as the node each axis picked.
std::vector<NodesByPath> cross_product(const std::vector<SweepAxis>& axes);

// How a value prints in a run's name: 0.001, rope, [1,2,3].
std::string value_label(const toml::node& value);

}  // namespace parrot
