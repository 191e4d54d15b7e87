// What the optimizer needs of cast_weight's kept casts (parrot/weight_cast.hpp): it writes them as
// it updates the weights, and then says so.
#pragma once

#include <torch/types.h>

namespace parrot {

// The cast of `weight` that cast_weight keeps, of the weight's size and on its device, or an
// undefined tensor where it keeps none.
torch::Tensor kept_cast_of(const torch::Tensor& weight);

// `weight`'s kept cast holds the weight as it is now (an update wrote both): cast_weight need not
// cast it again until the weight's version counter moves.
void kept_cast_written(const torch::Tensor& weight);

}  // namespace parrot
