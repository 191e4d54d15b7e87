// Gradient checkpointing for a plugin's layers: the forward pass keeps only a layer's input, and
// the backward pass runs the layer again to get the activations it needs. Memory for a deep
// model falls from every layer's activations to one layer's, for about a third more compute.
#pragma once

#include <parrot/autocast.hpp>

#include <torch/autograd.h>
#include <torch/types.h>

#include <cstdint>

namespace parrot {

namespace detail {

template <class Layer>
class RecomputedLayer : public torch::autograd::Function<RecomputedLayer<Layer>> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& x,
                               int64_t layer_address) {
    context->save_for_backward({x});
    context->saved_data["layer"] = layer_address;
    // The backward pass runs on another thread: it must set the autocast of this one itself.
    const AutocastState autocast = autocast_state(x.device().type());
    context->saved_data["autocast"] = autocast.enabled;
    context->saved_data["autocast_dtype"] = static_cast<int64_t>(autocast.dtype);
    // Autocast's cache would keep this pass's casts of the weights, made without grad, and hand
    // them to the recomputation, cutting the gradients to those weights.
    const AutocastCacheOff no_cache;
    return layer(context).forward(x);  // grad mode is off in a Function's forward
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list grads) {
    const torch::Tensor x = context->get_saved_variables()[0].detach().requires_grad_(true);
    // The cache is per thread and on by default, so it is on here too: a cast cached in one step
    // would give later steps' recomputations that step's weights. On CUDA its autograd nodes,
    // made on the stream of that step, also made a captured backward wait on the legacy stream.
    const AutocastCacheOff no_cache;
    const AutocastGuard autocast(
        x.device().type(),
        {context->saved_data["autocast"].toBool(),
         static_cast<at::ScalarType>(context->saved_data["autocast_dtype"].toInt())});
    torch::Tensor y;
    {
      torch::AutoGradMode grad_mode(true);
      y = layer(context).forward(x);
    }
    // Accumulates into the layer's parameters' gradients, and into x's.
    torch::autograd::backward({y}, {grads[0]});
    return {x.grad(), torch::Tensor()};
  }

 private:
  static Layer& layer(torch::autograd::AutogradContext* context) {
    return *reinterpret_cast<Layer*>(context->saved_data["layer"].toInt());
  }
};

}  // namespace detail

// layer.forward(x), with the activations inside the layer recomputed in the backward pass
// instead of stored. `layer` must outlive the backward pass (a submodule of the model does) and
// its forward must be deterministic (no dropout). Without grad mode it is layer.forward(x).
template <class Layer>
torch::Tensor recompute_in_backward(Layer& layer, const torch::Tensor& x) {
  if (!torch::GradMode::is_enabled() || !x.requires_grad()) return layer.forward(x);
  return detail::RecomputedLayer<Layer>::apply(x, reinterpret_cast<int64_t>(&layer));
}

}  // namespace parrot
