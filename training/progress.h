#pragma once
// Progress of long work, as a user watching it wants it: on a terminal one live line redrawn in
// place (a bar, then the caller's text), at most a few times a second; elsewhere (a log file, CI)
// one plain line every `interval_s` seconds, never a line per step.
#include <chrono>
#include <cstdio>
#include <string>

namespace mtmap::training {

class ProgressLine {
 public:
  // live: redraw in place; by default when `out` is a terminal.
  ProgressLine(std::FILE* out, double interval_s, int live = -1);
  // fraction in [0, 1]; `text` follows the bar (live) or is the line (plain). `force`: print now.
  void update(double fraction, const std::string& text, bool force = false);
  // Ends the live line (a newline) and prints `text` as a plain line.
  void finish(const std::string& text);
  bool live() const { return live_; }

 private:
  std::FILE* out_;
  double interval_s_;
  bool live_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

// "1h02m", "3m05s", "12s".
std::string format_duration(double seconds);

}  // namespace mtmap::training
