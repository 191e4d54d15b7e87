// The training path on CUDA against the CPU one: the fused attention kernels, the fused
// optimizer and the CUDA graph must give the CPU's numbers within float tolerance, and a run
// stopped and resumed on CUDA must match one that never stopped. Without a GPU every test skips
// and says why.

#include "batch_prefetcher.hpp"
#include "determinism.hpp"
#include "kept_weight_casts.hpp"
#include "optimizer.hpp"
#include "precision.hpp"
#include "suite.hpp"
#include "test_support.hpp"
#include "trainer.hpp"
#include "training_step.hpp"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

namespace parrot {
namespace {

constexpr const char* kSuite = R"(
name = "cuda"
[train]
max_length = 6
context_length = 32
batch_size = 8
steps = 30
warmup_steps = 3
learning_rate = 3e-3
[eval]
lengths = [4]
examples = 32
curve_points = 3
curve_examples = 16
[architectures.t]
component = "transformer"
layers = 2
d_model = 32
heads = 4
positional = ["rope", "nope", "alibi", "hard_alibi"]
[architectures.mamba]
d_model = 32
layers = 2
recompute = [false, true]
[architectures.lstm]
width = 32
)";

class TrainingCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here";
    suite_ = std::make_unique<Suite>(load_suite(dir_.write("cuda.toml", kSuite)));
  }

  // The losses of twelve steps of `run` on `device` in the run's precision, on the same batches
  // whatever the device. With `weights`, also the parameters after the last step; with `casts`,
  // the casts kept of them for the next step (kept_cast_of), undefined where none is.
  std::vector<double> losses(const parrot::Run& run, const torch::Device& device, bool graph,
                             std::string* mode = nullptr,
                             std::vector<torch::Tensor>* weights = nullptr,
                             std::vector<torch::Tensor>* casts = nullptr) {
    const Trainee trainee = make_trainee(run, suite_->registry, device);
    const PrecisionScope precision(run.train.precision, device);
    TrainingStep step(*trainee.model, *trainee.optimizer, run.train, device, graph);
    BatchPrefetcher batches = training_batches(run, suite_->registry, Rng(1).state(), device);
    std::vector<double> values;
    for (int i = 0; i < 12; ++i)
      values.push_back(step.run(batches.next().batch, run.train.learning_rate).item<double>());
    if (mode) *mode = step.mode();
    if (weights)
      for (const auto& parameter : trainee.model->parameters())
        weights->push_back(parameter.detach().cpu());
    if (casts)
      for (const auto& parameter : trainee.model->parameters()) {
        const auto cast = kept_cast_of(parameter);
        casts->push_back(cast.defined() ? cast.cpu() : cast);
      }
    return values;
  }

  test::TempDir dir_;
  std::unique_ptr<Suite> suite_;
};

// Relative difference, for numbers of order one.
void expect_close(const std::vector<double>& a, const std::vector<double>& b, double tolerance,
                  const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], tolerance * std::max(1.0, std::abs(a[i]))) << what << ", step " << i;
}

TEST_F(TrainingCudaTest, EveryArchitectureTrainsOnCudaAsOnCpu) {
  for (const parrot::Run& run : suite_->runs) {
    const auto cpu = losses(run, torch::kCPU, false);
    const auto cuda = losses(run, torch::kCUDA, false);
    // Twelve steps of Adam amplify float rounding a little; a wrong kernel is off by far more.
    expect_close(cpu, cuda, 2e-3, run.name + " eager");
  }
}

// The fused optimizer clips by dividing the gradients inside its update; the plain one on CPU
// scales them first. Gradients ten times too large make the clipping bite. LibTorch's kernel
// leaves the gradients divided, as clipping does; parrot's leaves them as they were.
TEST_F(TrainingCudaTest, TheFusedOptimizerClipsAsThePlainOneDoes) {
  const parrot::Run& run = suite_->runs.front();
  const Trainee cpu = make_trainee(run, suite_->registry, torch::kCPU);
  const Trainee cuda = make_trainee(run, suite_->registry, torch::kCUDA);
  auto* fused = dynamic_cast<DividesGradients*>(cuda.optimizer.get());
  ASSERT_NE(fused, nullptr);
  auto cpu_parameters = cpu.model->parameters(), cuda_parameters = cuda.model->parameters();
  std::vector<torch::Tensor> cuda_grads, unclipped;
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < cpu_parameters.size(); ++i) {
      cuda_parameters[i].copy_(cpu_parameters[i]);
      cpu_parameters[i].mutable_grad() = 10 * torch::randn_like(cpu_parameters[i]);
      cuda_parameters[i].mutable_grad() = cpu_parameters[i].grad().to(torch::kCUDA);
      cuda_grads.push_back(cuda_parameters[i].grad());
      unclipped.push_back(cpu_parameters[i].grad().clone());
    }
  }
  ASSERT_GT(gradient_clip_divisor(cuda_grads, run.train.grad_clip).item<double>(), 10.0);

  clip_gradient_norm(cpu_parameters, run.train.grad_clip);
  cpu.optimizer->step();
  fused->divide_next_gradients_by(gradient_clip_divisor(cuda_grads, run.train.grad_clip));
  dynamic_cast<DeviceLearningRate&>(*cuda.optimizer).sync_learning_rate();
  cuda.optimizer->step();
  for (size_t i = 0; i < cpu_parameters.size(); ++i) {
    EXPECT_TRUE(torch::allclose(cpu_parameters[i], cuda_parameters[i].cpu(), 1e-5, 1e-6))
        << "parameter " << i;
#ifdef PARROT_ADAM_CUDA
    EXPECT_TRUE(torch::equal(unclipped[i], cuda_parameters[i].grad().cpu()))
        << "gradient " << i << " is left as it was";
#else
    EXPECT_TRUE(
        torch::allclose(cpu_parameters[i].grad(), cuda_parameters[i].grad().cpu(), 1e-5, 1e-7))
        << "gradient " << i << " is left divided, as clipping leaves it";
#endif
  }
}

TEST_F(TrainingCudaTest, TheGraphReplaysTheEagerStep) {
  for (const parrot::Run& run : suite_->runs) {
    std::string mode;
    const auto graphed = losses(run, torch::kCUDA, true, &mode);
    const auto eager = losses(run, torch::kCUDA, false);
    EXPECT_EQ(mode, "graph") << run.name;
    expect_close(eager, graphed, 1e-4, run.name + " graph");
  }
}

// In a graph too: Mamba's recomputed blocks included.
TEST_F(TrainingCudaTest, Bf16StaysNearFp32InAGraph) {
  for (const parrot::Run& run : suite_->runs) {
    parrot::Run bf16 = run;
    bf16.train.precision = "bf16";
    const auto fp32 = losses(run, torch::kCUDA, true);
    std::string mode;
    const auto low = losses(bf16, torch::kCUDA, true, &mode);
    EXPECT_EQ(mode, "graph") << run.name << " bf16";
    expect_close(fp32, low, 5e-2, run.name + " bf16");
  }
}

// Under bf16 the weights' casts are kept from step to step; the optimizer writes them with its
// update, in the graph's replays too. After training, each kept cast is its weight as it is now,
// to the bit, so no step read a cast an update behind.
TEST_F(TrainingCudaTest, Bf16CastsKeptForTheNextStepAreTheWeightsAsTheyAre) {
  for (parrot::Run run : suite_->runs) {
    run.train.precision = "bf16";
    for (const bool graph : {false, true}) {
      const std::string what = run.name + (graph ? " graph" : " eager");
      std::vector<torch::Tensor> weights, casts;
      losses(run, torch::kCUDA, graph, nullptr, &weights, &casts);
      ASSERT_EQ(weights.size(), casts.size());
      int kept = 0;
      for (size_t i = 0; i < weights.size(); ++i) {
        if (!casts[i].defined()) continue;
        ++kept;
        EXPECT_TRUE(torch::equal(casts[i], weights[i].to(torch::kBFloat16)))
            << what << ", parameter " << i;
      }
      EXPECT_GT(kept, 0) << what << ": every product's weight is cast";
    }
  }
}

// Two trainings of one seed end with the same weights to the bit, for every architecture, in
// the paper suites' setting (bf16, a graph), on rows long enough for attention's backward to
// split its sums.
TEST_F(TrainingCudaTest, DeterministicTrainingRepeatsToTheBit) {
  const DeterminismScope deterministic(true, torch::kCUDA);
  for (parrot::Run run : suite_->runs) {
    run.train.precision = "bf16";
    run.train.batch_size = 32;
    run.train.context_length = 256;
    std::vector<torch::Tensor> first, second;
    const auto a = losses(run, torch::kCUDA, true, nullptr, &first);
    const auto b = losses(run, torch::kCUDA, true, nullptr, &second);
    EXPECT_EQ(a, b) << run.name;
    ASSERT_EQ(first.size(), second.size());
    for (size_t i = 0; i < first.size(); ++i)
      EXPECT_TRUE(torch::equal(first[i], second[i])) << run.name << ", parameter " << i;
  }
}

TEST_F(TrainingCudaTest, AStoppedRunResumesOnCudaToTheSameNumbers) {
  const parrot::Run& run = suite_->runs.front();
  const RunResult straight = execute_run(run, suite_->registry, torch::kCUDA);
  const auto checkpoint = dir_.path() / "run.ckpt";
  int64_t asked = 0;
  EXPECT_THROW(execute_run(run, suite_->registry, torch::kCUDA, {},
                           {checkpoint, 0, [&] { return ++asked > 17; }}),
               RunStopped);
  const RunResult resumed =
      execute_run(run, suite_->registry, torch::kCUDA, {}, {checkpoint, 0, {}});
  ASSERT_EQ(straight.curve.size(), resumed.curve.size());
  for (size_t i = 0; i < straight.curve.size(); ++i) {
    EXPECT_EQ(straight.curve[i].examples_seen, resumed.curve[i].examples_seen);
    EXPECT_NEAR(straight.curve[i].loss, resumed.curve[i].loss, 1e-4) << "curve point " << i;
  }
  EXPECT_EQ(straight.steps, resumed.steps);
}

}  // namespace
}  // namespace parrot
