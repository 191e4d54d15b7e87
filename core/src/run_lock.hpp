// One run, one process: an advisory lock (flock) on <run-id>.lock in the results folder. The
// kernel drops it when the holder exits, however it exits, so a killed runner never leaves a
// run claimed.
#pragma once

#include <filesystem>
#include <optional>

namespace parrot {

class RunLock {
 public:
  // The lock, or nullopt when another process (or another open of the file) holds it.
  static std::optional<RunLock> try_acquire(const std::filesystem::path& file);
  // Whether someone holds the lock right now; takes and drops it when free.
  static bool held(const std::filesystem::path& file);

  RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RunLock& operator=(RunLock&&) = delete;
  RunLock(const RunLock&) = delete;
  ~RunLock();

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace parrot
