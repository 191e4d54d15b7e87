// The `mamba` architecture: a stack of Mamba v1 blocks (the paper's state space model) over a token
// embedding. Exposed here so tests can build it and inspect its blocks without loading the plugin.
#pragma once

#include <parrot/model.hpp>
#include <parrot/params.hpp>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>

namespace parrot::mamba {

struct MambaOptions {
  int64_t vocabulary_size = 0;
  int64_t layers = 2;
  int64_t d_model = 64;
  int64_t d_state = 16;
  int64_t expand = 2;
  int64_t d_conv = 4;
  int64_t dt_rank = 4;  // resolved: `make` turns the schema's 0 into ceil(d_model / 16)
  double dt_min = 0.001;
  double dt_max = 0.1;
  bool recompute = false;  // gradient checkpointing of every block (parrot/recompute.hpp)

  int64_t d_inner() const { return expand * d_model; }
};

// x / sqrt(mean(x^2) + eps) * weight over the last dimension: Mamba's norm. Written here because
// LibTorch 1.13 has no RMSNorm module.
class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(int64_t dim, double eps = 1e-5);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

// The Mamba v1 mixer, [batch, length, d_model] -> the same: a gated, input-dependent
// (selective) diagonal state space model behind a short causal convolution.
class MambaBlockImpl : public torch::nn::Module {
 public:
  explicit MambaBlockImpl(const MambaOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  // A = -exp(A_log), so A stays negative (a decaying state) whatever training does to A_log.
  torch::Tensor A() const;

  torch::nn::Linear in_proj{nullptr};  // d_model -> 2 d_inner: the scan's input and its gate
  torch::nn::Conv1d conv{nullptr};     // depthwise, causal once its right tail is cut
  torch::nn::Linear x_proj{nullptr};   // d_inner -> dt_rank + 2 d_state: low-rank delta, B, C
  torch::nn::Linear dt_proj{nullptr};  // dt_rank -> d_inner, then softplus: delta
  torch::Tensor A_log;                 // [d_inner, d_state]
  torch::Tensor D;                     // [d_inner]: the skip connection around the scan
  torch::nn::Linear out_proj{nullptr};

 private:
  int64_t d_inner_, d_state_, dt_rank_;
};
TORCH_MODULE(MambaBlock);

// x + mixer(norm(x)): one layer of the residual stream.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  explicit ResidualBlockImpl(const MambaOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  RMSNorm norm{nullptr};
  MambaBlock mixer{nullptr};
};
TORCH_MODULE(ResidualBlock);

// Embedding, `layers` residual Mamba blocks, final RMSNorm, untied output projection.
class Mamba : public Model {
 public:
  explicit Mamba(MambaOptions options);

  torch::Tensor forward(const torch::Tensor& tokens) override;

  // Fixed in the length: per layer the last d_conv - 1 convolution inputs and the SSM state of
  // every channel, d_inner * (d_conv - 1 + d_state) fp32 values.
  int64_t state_bits(int64_t context_length) const override;
  // A_log is a matrix but no weight: decaying it would pull every decay rate towards 1.
  bool decays(const std::string& name, const torch::Tensor& parameter) const override;

  const MambaOptions& options() const { return options_; }

  torch::nn::Embedding embedding{nullptr};
  torch::nn::ModuleList blocks;
  RMSNorm final_norm{nullptr};
  torch::nn::Linear output{nullptr};

 private:
  MambaOptions options_;
};

Schema schema();

// Validates every parameter (errors name the key) and builds the model on the CPU.
std::shared_ptr<Model> make(const Params& params, int64_t vocabulary_size);

}  // namespace parrot::mamba
