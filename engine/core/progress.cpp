#include "engine/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace mtmap {

ProgressLine::ProgressLine(std::FILE* out, double interval_s, int live)
    : out_(out), interval_s_(interval_s), live_(live < 0 ? bool(isatty(fileno(out))) : live != 0) {
  last_ = std::chrono::steady_clock::now() - std::chrono::hours(1);
}

ProgressLine::ProgressLine(std::function<void(const std::string&)> sink, double interval_s)
    : sink_(std::move(sink)), interval_s_(interval_s), live_(false) {
  last_ = std::chrono::steady_clock::now() - std::chrono::hours(1);
}

void ProgressLine::emit(const std::string& line) {
  if (!out_) {
    if (sink_) sink_(line);
    return;
  }
  fmt::print(out_, "{}\n", line);
  std::fflush(out_);
}

ProgressLine::~ProgressLine() {
  if (live_ && drawn_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

void ProgressLine::update(double fraction, const std::string& text, bool force) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  // A terminal is redrawn up to 5 times a second; a log gets a line per interval.
  if (!force && since < (live_ ? 0.2 : interval_s_)) return;
  last_ = now;
  if (live_) {
    constexpr int kWidth = 24;
    const int filled = int(std::lround(std::clamp(fraction, 0.0, 1.0) * kWidth));
    std::string bar(size_t(filled), '#');
    bar.append(size_t(kWidth - filled), '.');
    fmt::print(out_, "\r\033[K[{}] {:3.0f}% {}", bar, 100 * std::clamp(fraction, 0.0, 1.0), text);
    drawn_ = true;
    std::fflush(out_);
  } else {
    emit(text);
  }
}

void ProgressLine::message(const std::string& text) {
  if (live_ && drawn_) fmt::print(out_, "\r\033[K");
  drawn_ = false;
  emit(text);
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const int64_t t = int64_t(std::lround(s));
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

}  // namespace mtmap
