// Nothing lost: `suite run` killed with -9 or stopped with SIGINT resumes from its checkpoint to
// the same records as a run never stopped, and runners sharing a results folder never train the
// same run twice.

#include "stop_signal.hpp"
#include "test_support.hpp"

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

namespace parrot {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

const std::string kSuite = std::string(PARROT_TEST_SUITES_DIR) + "/resume.toml";

// `suite` started in the background, its output going to a file.
class Runner {
 public:
  Runner(const std::string& arguments, const std::filesystem::path& log) : log_(log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string command = "exec " + std::string(PARROT_SUITE_BINARY) + " " + arguments +
                                  " > " + log.string() + " 2>&1";
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  void signal(int number) const { ::kill(pid_, number); }
  // The exit code, or 128 + the signal that ended it.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string output() const {
    std::ifstream in(log_);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

 private:
  std::filesystem::path log_;
  pid_t pid_;
};

int run_to_end(const std::string& arguments, const std::filesystem::path& log) {
  return Runner(arguments, log).wait();
}

std::vector<std::filesystem::path> with_extension(const std::filesystem::path& folder,
                                                  const std::string& extension) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (entry.path().extension() == extension) files.push_back(entry.path());
  return files;
}

bool wait_for(const std::function<bool()>& condition, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Each run's records without what depends on the clock.
std::map<std::string, std::vector<nlohmann::json>> records_without_timings(
    const std::filesystem::path& folder) {
  std::map<std::string, std::vector<nlohmann::json>> runs;
  for (const auto& file : with_extension(folder, ".jsonl")) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      nlohmann::json record = nlohmann::json::parse(line);
      for (const char* key : {"train_seconds", "wall_seconds", "tokens_per_second"})
        record.erase(key);
      runs[file.stem().string()].push_back(std::move(record));
    }
  }
  return runs;
}

TEST(Resume, KilledWithSigkillMidRunResumesToTheRecordsOfAnUninterruptedRun) {
  test::TempDir dir;
  const auto straight = dir.path() / "straight", killed = dir.path() / "killed";
  ASSERT_EQ(run_to_end("run " + kSuite + " --device cpu --out " + straight.string(),
                       dir.path() / "straight.log"),
            0);

  Runner runner("run " + kSuite + " --device cpu --out " + killed.string(),
                dir.path() / "killed.log");
  ASSERT_TRUE(wait_for(
      [&] { return std::filesystem::exists(killed) && !with_extension(killed, ".ckpt").empty(); },
      60s))
      << runner.output();
  std::this_thread::sleep_for(300ms);  // mid-run, between two checkpoints
  runner.signal(SIGKILL);
  EXPECT_EQ(runner.wait(), 128 + SIGKILL);
  ASSERT_LT(with_extension(killed, ".jsonl").size(), 2u) << "the kill came too late";

  Runner resumed("run " + kSuite + " --device cpu --out " + killed.string(),
                 dir.path() / "resumed.log");
  ASSERT_EQ(resumed.wait(), 0) << resumed.output();
  EXPECT_TRUE(with_extension(killed, ".ckpt").empty()) << "checkpoints outlive finished runs";
  const auto expected = records_without_timings(straight);
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(records_without_timings(killed), expected);
}

TEST(Resume, SigintSavesACheckpointExitsAndTheSameCommandFinishes) {
  test::TempDir dir;
  const std::string arguments =
      "run " + kSuite + " --device cpu --set checkpoint_minutes=0 --only 'lstm/copy/seed0'" +
      " --set train.steps=3000 --out " + dir.path().string();
  Runner runner(arguments, dir.path() / "first.log");
  ASSERT_TRUE(wait_for([&] { return runner.output().find("step ") != std::string::npos; }, 60s))
      << runner.output();
  runner.signal(SIGINT);
  EXPECT_EQ(runner.wait(), 128 + SIGINT) << runner.output();
  EXPECT_THAT(runner.output(), HasSubstr("checkpoint saved"));
  ASSERT_EQ(with_extension(dir.path(), ".ckpt").size(), 1u);

  const std::string runs =
      "runs " + kSuite + " --set train.steps=3000 --out " + dir.path().string();
  ASSERT_EQ(run_to_end(runs, dir.path() / "runs.log"), 0);
  std::ifstream listed(dir.path() / "runs.log");
  const std::string listing{std::istreambuf_iterator<char>(listed), {}};
  EXPECT_THAT(listing, HasSubstr("checkpointed  lstm/copy/seed0"));
  EXPECT_THAT(listing, HasSubstr("pending       lstm/copy/seed1"));

  Runner again(arguments, dir.path() / "again.log");
  EXPECT_EQ(again.wait(), 0) << again.output();
  EXPECT_THAT(again.output(), HasSubstr("done in"));
  EXPECT_EQ(with_extension(dir.path(), ".jsonl").size(), 1u);
}

// `timeout -s INT` signals the command and then the command's process group, so one request
// arrives twice; when the second ended the process, the run was lost without a checkpoint.
TEST(StopSignalDeathTest, ARepeatWithinASecondIsTheSameRequestALaterOneEndsTheProcess) {
  EXPECT_EXIT(
      {
        install_stop_handlers();
        std::raise(SIGINT);
        std::raise(SIGINT);
        std::fprintf(stderr, "running after the repeat, stop requested: %d by signal %d\n",
                     stop_requested(), stop_signal());
        std::this_thread::sleep_for(1100ms);
        std::raise(SIGINT);
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGINT), "running after the repeat, stop requested: 1 by signal 2");
}

TEST(Resume, TwoRunnersOnOneFolderNeverTrainTheSameRun) {
  test::TempDir dir;
  const std::string arguments =
      "run " + kSuite + " --device cpu --set 'seeds=[0,1,2,3]' --set train.steps=100 --out " +
      dir.path().string();
  Runner a(arguments, dir.path() / "a.log"), b(arguments, dir.path() / "b.log");
  ASSERT_EQ(a.wait(), 0) << a.output();
  ASSERT_EQ(b.wait(), 0) << b.output();
  auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(a.output(), "done in") + count(b.output(), "done in"), 4u)
      << a.output() << b.output();
  EXPECT_EQ(with_extension(dir.path(), ".jsonl").size(), 4u);
}

}  // namespace
}  // namespace parrot
