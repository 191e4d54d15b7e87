// A signal handler that only records the signal.

#include "stop_signal.hpp"

#include <csignal>
#include <ctime>

namespace parrot {
namespace {

// GNU `timeout` sends its signal to the command and then to the command's process group, so one
// request can arrive twice in a moment; a repeat within this window is the same request.
constexpr long kRepeatWindowNs = 1'000'000'000;

volatile std::sig_atomic_t received = 0;
timespec received_at{};

long nanoseconds_between(const timespec& from, const timespec& to) {
  return (to.tv_sec - from.tv_sec) * 1'000'000'000L + (to.tv_nsec - from.tv_nsec);
}

extern "C" void record_signal(int signal) {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  if (received == 0) {
    received_at = now;
    received = signal;
    return;
  }
  if (nanoseconds_between(received_at, now) < kRepeatWindowNs) return;
  // A later one ends the process as the signal normally would, once this handler returns.
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, record_signal);
  std::signal(SIGTERM, record_signal);
}

bool stop_requested() { return received != 0; }

int stop_signal() { return received; }

}  // namespace parrot
