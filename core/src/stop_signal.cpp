// A signal handler that only records the signal.

#include "stop_signal.hpp"

#include <csignal>

namespace parrot {
namespace {

volatile std::sig_atomic_t received = 0;

extern "C" void record_signal(int signal) {
  received = signal;
  std::signal(signal, SIG_DFL);  // the next one is not caught
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, record_signal);
  std::signal(SIGTERM, record_signal);
}

bool stop_requested() { return received != 0; }

int stop_signal() { return received; }

}  // namespace parrot
