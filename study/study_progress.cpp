#include "study/study_progress.h"

#include <fmt/format.h>

#include <algorithm>

namespace mtmap::study {

StudyProgress::StudyProgress(Progress& out, double total_cost)
    : out_(out), total_(std::max(total_cost, 1e-9)), started_(std::chrono::steady_clock::now()) {}

void StudyProgress::begin_stage(int number, int count, const std::string& what, double cost) {
  prefix_ = fmt::format("[{}/{} {}]", number, count, what);
  cost_ = cost;
  stage_fraction_ = 0;
  out_.update(fraction(), fmt::format("{} starting", prefix_), true);
}

void StudyProgress::end_stage() {
  done_ += cost_;
  cost_ = 0;
  stage_fraction_ = 0;
}

double StudyProgress::fraction() const { return std::clamp((done_ + cost_ * stage_fraction_) / total_, 0.0, 1.0); }

void StudyProgress::update(double fraction_of_stage, const std::string& text, bool force) {
  stage_fraction_ = std::clamp(fraction_of_stage, 0.0, 1.0);
  const double f = fraction();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  // The ETA from the study's own pace: elapsed time per unit of estimated cost so far.
  const std::string eta = f > 0.002 ? format_duration(elapsed * (1 - f) / f) : "?";
  out_.update(f, fmt::format("{} {} | study {:.0f}% ETA {}", prefix_, text, 100 * f, eta), force);
}

void StudyProgress::message(const std::string& text) { out_.message(fmt::format("{} {}", prefix_, text)); }

}  // namespace mtmap::study
