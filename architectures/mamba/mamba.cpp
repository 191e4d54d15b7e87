// The Mamba model, its parameter schema and the factory that checks parameters against it.

#include "mamba.hpp"

#include <torch/torch.h>

#include <cmath>

#include "causal_conv.hpp"
#include "left_multiply.hpp"
#include "selective_scan.hpp"
#include "silu_gate.hpp"

#include <parrot/linear.hpp>
#include <parrot/recompute.hpp>
#include <parrot/torch_version.hpp>

namespace parrot::mamba {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps)
    : weight(register_parameter("weight", torch::ones({dim}))), eps_(eps) {}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
#if PARROT_TORCH_AT_LEAST(2, 4)
  return torch::rms_norm(x, {x.size(-1)}, weight, eps_);  // on CUDA one kernel each way
#else
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps_) * weight;
#endif
}

MambaBlockImpl::MambaBlockImpl(const MambaOptions& options)
    : d_inner_(options.d_inner()), d_state_(options.d_state), dt_rank_(options.dt_rank) {
  const int64_t d_model = options.d_model;
  in_proj = register_module(
      "in_proj", torch::nn::Linear(torch::nn::LinearOptions(d_model, 2 * d_inner_).bias(false)));
  // Holds the filter that causal_conv_silu() applies (causal_conv.hpp); its padding makes the
  // module itself causal once the right tail of its output is cut.
  conv = register_module(
      "conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(d_inner_, d_inner_, options.d_conv)
                                    .groups(d_inner_)
                                    .padding(options.d_conv - 1)
                                    .bias(true)));
  x_proj = register_module(
      "x_proj",
      torch::nn::Linear(torch::nn::LinearOptions(d_inner_, dt_rank_ + 2 * d_state_).bias(false)));
  dt_proj = register_module("dt_proj", torch::nn::Linear(dt_rank_, d_inner_));
  out_proj = register_module(
      "out_proj", torch::nn::Linear(torch::nn::LinearOptions(d_inner_, d_model).bias(false)));

  torch::NoGradGuard no_grad;
  // Mamba's initialization. The dt projection keeps the variance of its low-rank input; its bias
  // starts each channel at a step size log-uniform in [dt_min, dt_max], so channels begin with
  // time scales from short to long. The bias is softplus's inverse of that step: dt + log(1 -
  // exp(-dt)), through expm1 to stay accurate for small dt.
  const double dt_std = 1.0 / std::sqrt(static_cast<double>(dt_rank_));
  torch::nn::init::uniform_(dt_proj->weight, -dt_std, dt_std);
  const double log_min = std::log(options.dt_min), log_max = std::log(options.dt_max);
  const auto dt = torch::exp(torch::rand({d_inner_}) * (log_max - log_min) + log_min);
  dt_proj->bias.copy_(dt + torch::log(-torch::expm1(-dt)));

  // S4D-real: A[d, n] = -(n + 1) in every channel, a spread of decay rates per state.
  A_log = register_parameter(
      "A_log",
      torch::log(torch::arange(1, d_state_ + 1, torch::kFloat)).repeat({d_inner_, 1}).contiguous());
  D = register_parameter("D", torch::ones({d_inner_}));
}

torch::Tensor MambaBlockImpl::A() const { return -torch::exp(A_log); }

torch::Tensor MambaBlockImpl::forward(const torch::Tensor& x) {
  // Split before transposing: the split's gradient is then one concatenation straight into the
  // [batch, length, 2 d_inner] layout in_proj's backward reads.
  const auto xz = linear(in_proj, x).chunk(2, -1);
  // The scan runs along the last dimension: channels and states go to the middle.
  const auto u = causal_conv_silu(xz[0], conv->weight, conv->bias);

  const auto projected = left_multiply(x_proj->weight, u).split({dt_rank_, d_state_, d_state_}, 1);
  const auto& dt = projected[0];  // [batch, dt_rank, length]
  const auto& B = projected[1];   // [batch, d_state, length]
  const auto& C = projected[2];
  // The step sizes, softplus(dt_proj(dt)), are made inside the scan where it can.
  const auto y =
      selective_scan_softplus(u, left_multiply(dt_proj->weight, dt), dt_proj->bias, A(), B, C, D);
  return linear(out_proj, silu_gate(y, xz[1]));
}

ResidualBlockImpl::ResidualBlockImpl(const MambaOptions& options)
    : norm(register_module("norm", RMSNorm(options.d_model))),
      mixer(register_module("mixer", MambaBlock(options))) {}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) { return x + mixer(norm(x)); }

Mamba::Mamba(MambaOptions options) : options_(std::move(options)) {
  const int64_t d_model = options_.d_model;
  embedding = register_module("embedding", torch::nn::Embedding(options_.vocabulary_size, d_model));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t layer = 0; layer < options_.layers; ++layer)
    blocks->push_back(ResidualBlock(options_));
  final_norm = register_module("final_norm", RMSNorm(d_model));
  // No bias, as mamba_ssm's language-model head.
  output = register_module(
      "output",
      torch::nn::Linear(torch::nn::LinearOptions(d_model, options_.vocabulary_size).bias(false)));

  // As mamba_ssm: a small normal embedding, and each block's output projection scaled by
  // 1/sqrt(layers) so that the residual stream's variance at initialization does not grow with
  // depth. Everything else keeps LibTorch's defaults, as PyTorch's there.
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(embedding->weight, 0.0, 0.02);
  const double residual_scale = 1.0 / std::sqrt(static_cast<double>(options_.layers));
  for (const auto& block : *blocks)
    block->as<ResidualBlockImpl>()->mixer->out_proj->weight.mul_(residual_scale);
}

torch::Tensor Mamba::forward(const torch::Tensor& tokens) {
  TORCH_CHECK(tokens.dim() == 2, "mamba: tokens must be [batch, length], got ", tokens.sizes());
  auto x = embedding(tokens);
  for (const auto& block : *blocks) {
    auto& residual = *block->as<ResidualBlockImpl>();
    x = options_.recompute ? recompute_in_backward(residual, x) : residual.forward(x);
  }
  return linear(output, final_norm(x));
}

bool Mamba::decays(const std::string& name, const torch::Tensor& parameter) const {
  const bool log_decay_rate = name.size() >= 5 && name.compare(name.size() - 5, 5, "A_log") == 0;
  return parameter.dim() >= 2 && !log_decay_rate;
}

int64_t Mamba::state_bits(int64_t /*context_length*/) const {
  return options_.layers * options_.d_inner() * (options_.d_conv - 1 + options_.d_state) * 32;
}

Schema schema() {
  return {
      int_param("d_model", 64, "width of the embedding and the residual stream"),
      int_param("layers", 2, "number of residual Mamba blocks"),
      int_param("d_state", 16, "SSM state size per channel (N)"),
      int_param("expand", 2, "inner width as a multiple of d_model (d_inner = expand * d_model)"),
      int_param("d_conv", 4, "width of the causal depthwise convolution before the scan"),
      int_param("dt_rank", 0, "rank of the step-size projection; 0 = ceil(d_model / 16)"),
      float_param("dt_min", 0.001, "smallest initial step size (softplus of the dt bias)"),
      float_param("dt_max", 0.1, "largest initial step size; initial steps are log-uniform"),
      bool_param("recompute", false,
                 "keep only each block's input in training and recompute the rest in the "
                 "backward pass: far less memory for long batches, about a third more compute"),
  };
}

std::shared_ptr<Model> make(const Params& params, int64_t vocabulary_size) {
  MambaOptions options;
  options.vocabulary_size = vocabulary_size;
  options.d_model = params.integer_at_least("d_model", 1);
  options.layers = params.integer_at_least("layers", 1);
  options.d_state = params.integer_at_least("d_state", 1);
  options.expand = params.integer_at_least("expand", 1);
  options.d_conv = params.integer_at_least("d_conv", 1);

  const int64_t dt_rank = params.integer("dt_rank");
  if (dt_rank < 0) params.fail("dt_rank", "must be at least 0 (0 = ceil(d_model / 16))");
  options.dt_rank = dt_rank > 0 ? dt_rank : (options.d_model + 15) / 16;

  options.dt_min = params.real("dt_min");
  if (!(options.dt_min > 0.0)) params.fail("dt_min", "must be greater than 0");
  options.dt_max = params.real("dt_max");
  if (!(options.dt_max >= options.dt_min && std::isfinite(options.dt_max)))
    params.fail("dt_max",
                "must be finite and at least dt_min (" + to_string(Value{options.dt_min}) + ")");

  options.recompute = params.boolean("recompute");
  return std::make_shared<Mamba>(std::move(options));
}

}  // namespace parrot::mamba
