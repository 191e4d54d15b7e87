// Turns examples into model-ready tensors: packed training rows and padded evaluation rows.
// Inputs are row[:-1] and targets row[1:], as in the paper's code.
#pragma once

#include <parrot/task.hpp>

#include <torch/types.h>

#include <vector>

namespace parrot {

struct Batch {
  torch::Tensor inputs;   // [rows, time] int64
  torch::Tensor targets;  // [rows, time] int64: the next token at each position
  torch::Tensor mask;     // [rows, time] bool: the targets that count
  int64_t examples = 0;   // whole examples with their targets in the batch
};

// `rows` rows of `row_tokens` tokens (so row_tokens - 1 positions each), each filled by
// concatenating fresh examples with lengths uniform in [min_length, max_length]; the example
// that would overflow is cut and gets no targets.
Batch pack_training_rows(const Task& task, Rng& rng, int64_t rows, int64_t row_tokens,
                         int64_t min_length, int64_t max_length);

// One example per row, padded with `pad` to the longest; padding is never a target.
Batch pad_examples(const std::vector<Example>& examples, int64_t pad);

}  // namespace parrot
