// A weight cast to a low precision for a product, kept from one training step to the next.
//
// Under bfloat16 autocast every step cast each float weight again, reading 4 bytes and writing 2
// an element (and one launch a weight, biases included), because autocast's own cache of casts
// lasts until autocast is left, which for a run is after training (docs/gpu.md, Precision).
// cast_weight keeps the cast instead, and the CUDA optimizer rewrites it as it updates the
// weight (optimizer.cpp), so that a step reads the cast the last update wrote. A weight changed
// any other way moves its version counter, and its cast is made again, in the same memory.
#pragma once

#include <torch/types.h>

namespace parrot {

// `weight` as `type`, for the forward of an autograd function that makes the weight's gradient
// itself. Where grad mode is off, as inside such a forward, and the weight is a float leaf that
// requires grad (a parameter being trained), the result is the kept cast: do not write to it.
// Elsewhere, `weight.to(type)`, through autograd where grad mode is on.
torch::Tensor cast_weight(const torch::Tensor& weight, torch::ScalarType type);

}  // namespace parrot
