#pragma once
// Progress of long work, as a user watching it wants it (the project's rule): on a terminal one
// live line redrawn in place (a bar, then the caller's text), at most a few times a second;
// elsewhere (a log file, CI) one plain line every `interval_s` seconds, never a line per step.
//
// Long functions take an optional `Progress*`: a caller may pass its own implementation (one that
// prefixes the text, or maps each piece's fraction to an overall ETA); without one they make a
// ProgressLine, or stay quiet.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

namespace mtmap {

// Where long work reports how far it is.
class Progress {
 public:
  virtual ~Progress() = default;
  // fraction in [0, 1] of this piece of work; `text` describes it; `force`: show now (e.g. the
  // last update). Implementations throttle unforced updates.
  virtual void update(double fraction, const std::string& text, bool force = false) = 0;
  // A plain message line (ends a live line first), e.g. "swap layer2.1: loss 0.31 → 0.22".
  virtual void message(const std::string& text) = 0;
};

// The standard Progress on a FILE*: a live bar on a terminal, plain lines every interval_s otherwise.
class ProgressLine : public Progress {
 public:
  // live: redraw in place (1), plain lines (0), or -1: live when `out` is a terminal.
  ProgressLine(std::FILE* out, double interval_s, int live = -1);
  // Plain lines handed to `sink` (a caller's log) instead of a file; an empty sink shows nothing.
  ProgressLine(std::function<void(const std::string&)> sink, double interval_s);
  // Ends a live line left drawn (a newline), so that what follows starts on a line of its own.
  ~ProgressLine() override;
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // Live: redrawn at most 5 times a second, the bar then `text`. Plain: `text` as a line when
  // interval_s has passed since the last one (the first update always prints). `force`: print now.
  void update(double fraction, const std::string& text, bool force = false) override;
  // Ends the live line (clears it) and prints `text` as a plain line.
  void message(const std::string& text) override;
  void finish(const std::string& text) { message(text); }
  bool live() const { return live_; }

 private:
  void emit(const std::string& line);  // one plain line to the sink or the file

  std::FILE* out_ = nullptr;
  std::function<void(const std::string&)> sink_;
  double interval_s_;
  bool live_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

// "1h02m", "3m05s", "12s"; "?" for a negative or non-finite time.
std::string format_duration(double seconds);

}  // namespace mtmap
