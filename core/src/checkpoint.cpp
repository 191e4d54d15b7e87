// Checkpoints as LibTorch archives.

#include "checkpoint.hpp"

#include "atomic_file.hpp"

#include <parrot/error.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <nlohmann/json.hpp>

#include <mutex>
#include <sstream>

namespace parrot {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Accuracy, examples, strings_correct, targets, targets_correct)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LengthAccuracy, length, accuracy)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CurvePoint, step, examples_seen, loss, accuracy)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainerState, step, examples_seen, examples_at_warmup_end,
                                   loss_sum, loss_count, train_seconds, training_done,
                                   stopped_early, curve, data_rng)

namespace {

at::Generator cpu_generator() { return at::detail::getDefaultCPUGenerator(); }

}  // namespace

void save_checkpoint(const std::filesystem::path& file, Model& model,
                     torch::optim::Optimizer& optimizer, const TrainerState& state) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive, optimizer_archive;
  model.save(model_archive);
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("trainer", c10::IValue(nlohmann::json(state).dump()));
  {
    at::Generator generator = cpu_generator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("cpu_generator", generator.get_state());
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomically(file, bytes.str());
}

TrainerState load_checkpoint(const std::filesystem::path& file, Model& model,
                             torch::optim::Optimizer& optimizer) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string());
    torch::serialize::InputArchive model_archive, optimizer_archive;
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    model.load(model_archive);
    optimizer.load(optimizer_archive);
    c10::IValue trainer;
    archive.read("trainer", trainer);
    torch::Tensor generator_state;
    archive.read("cpu_generator", generator_state);
    {
      at::Generator generator = cpu_generator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(generator_state);
    }
    return nlohmann::json::parse(trainer.toStringRef()).get<TrainerState>();
  } catch (const c10::Error& error) {
    throw InputError(file.string() + ": not a checkpoint this build can read (" +
                     error.what_without_backtrace() + "); delete it or use --fresh");
  } catch (const nlohmann::json::exception& error) {
    throw InputError(file.string() + ": a damaged checkpoint (" + error.what() +
                     "); delete it or use --fresh");
  }
}

}  // namespace parrot
