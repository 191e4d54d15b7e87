// Progress lines.

#include "progress.hpp"

#include <cstdio>

namespace parrot {
namespace {

std::string duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(s));
  return text;
}

}  // namespace

void ProgressPrinter::start(size_t index, size_t total, const std::string& name) {
  prefix_ = "[" + std::to_string(index) + "/" + std::to_string(total) + "] " + name;
  last_draw_ = {};
  last_logged_tenth_ = -1;
  first_.reset();
  if (live_)
    out_ << "\r" << prefix_ << "  starting\x1b[K" << std::flush;
  else
    out_ << prefix_ << ": started" << std::endl;
}

std::string ProgressPrinter::line(const Progress& p) const {
  char accuracy[16] = "-";
  if (p.string_accuracy) std::snprintf(accuracy, sizeof accuracy, "%.2f", *p.string_accuracy);
  char text[160];
  std::snprintf(text, sizeof text, "  step %lld/%lld  examples %lld  loss %.3f  acc %s  ETA %s",
                static_cast<long long>(p.step), static_cast<long long>(p.steps),
                static_cast<long long>(p.examples_seen), p.loss, accuracy, eta(p).c_str());
  return prefix_ + text;
}

std::string ProgressPrinter::eta(const Progress& p) const {
  if (p.step >= p.steps) return duration(0);
  if (!first_ || p.step == first_->step) return "-";  // no rate yet
  const double per_step =
      (p.elapsed_seconds - first_->elapsed_seconds) / static_cast<double>(p.step - first_->step);
  return duration(per_step * static_cast<double>(p.steps - p.step));
}

void ProgressPrinter::update(const Progress& progress) {
  if (!first_) first_ = progress;
  if (live_) {
    const auto now = std::chrono::steady_clock::now();
    if (progress.step != progress.steps && now - last_draw_ < std::chrono::milliseconds(100))
      return;
    last_draw_ = now;
    out_ << "\r" << line(progress) << "\x1b[K" << std::flush;
    return;
  }
  const int64_t tenth = progress.step * 10 / progress.steps;
  if (tenth == last_logged_tenth_) return;
  last_logged_tenth_ = tenth;
  out_ << line(progress) << std::endl;
}

void ProgressPrinter::finish(const std::string& outcome) {
  if (live_)
    out_ << "\r" << prefix_ << ": " << outcome << "\x1b[K" << std::endl;
  else
    out_ << prefix_ << ": " << outcome << std::endl;
}

}  // namespace parrot
