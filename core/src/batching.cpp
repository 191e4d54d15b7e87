// Row packing and padding.

#include "batching.hpp"

#include <algorithm>

namespace parrot {
namespace {

// rows x width tokens and target flags, laid out flat -> shifted tensors.
Batch to_batch(std::vector<int64_t>& tokens, std::vector<uint8_t>& target, int64_t rows,
               int64_t width, int64_t examples) {
  auto options = torch::TensorOptions().dtype(torch::kInt64);
  const torch::Tensor all = torch::from_blob(tokens.data(), {rows, width}, options).clone();
  const torch::Tensor scored =
      torch::from_blob(target.data(), {rows, width}, torch::TensorOptions().dtype(torch::kUInt8))
          .to(torch::kBool);
  using torch::indexing::Slice;
  return {all.index({Slice(), Slice(0, width - 1)}), all.index({Slice(), Slice(1, width)}),
          scored.index({Slice(), Slice(1, width)}).clone(), examples};
}

}  // namespace

Batch pack_training_rows(const Task& task, Rng& rng, int64_t rows, int64_t row_tokens,
                         int64_t min_length, int64_t max_length) {
  const int64_t pad = task.vocabulary().pad;
  std::vector<int64_t> tokens(rows * row_tokens, pad);
  std::vector<uint8_t> target(rows * row_tokens, 0);
  int64_t examples = 0;
  for (int64_t row = 0; row < rows; ++row) {
    int64_t filled = 0;
    while (filled < row_tokens) {
      const Example example = task.sample(rng.uniform(min_length, max_length), rng);
      const int64_t size = static_cast<int64_t>(example.tokens.size());
      const int64_t kept = std::min(size, row_tokens - filled);
      const int64_t at = row * row_tokens + filled;
      std::copy_n(example.tokens.begin(), kept, tokens.begin() + at);
      if (kept == size) {
        std::copy_n(example.target.begin(), kept, target.begin() + at);
        ++examples;
      }
      filled += kept;
    }
  }
  return to_batch(tokens, target, rows, row_tokens, examples);
}

Batch pad_examples(const std::vector<Example>& examples, int64_t pad) {
  size_t width = 0;
  for (const auto& example : examples) width = std::max(width, example.tokens.size());
  const int64_t rows = static_cast<int64_t>(examples.size());
  std::vector<int64_t> tokens(rows * width, pad);
  std::vector<uint8_t> target(rows * width, 0);
  for (int64_t row = 0; row < rows; ++row) {
    std::copy(examples[row].tokens.begin(), examples[row].tokens.end(),
              tokens.begin() + row * width);
    std::copy(examples[row].target.begin(), examples[row].target.end(),
              target.begin() + row * width);
  }
  return to_batch(tokens, target, rows, static_cast<int64_t>(width), rows);
}

}  // namespace parrot
