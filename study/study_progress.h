#pragma once
// Progress of a whole study on one line: each stage reports its own fraction and text (training
// steps, the probe's batches, the swap's windows); this maps it to the study's fraction by the
// stages' estimated costs and prefixes which stage of which run it is, with the overall ETA.
#include <chrono>
#include <string>

#include "engine/core/progress.h"

namespace mtmap::study {

class StudyProgress : public Progress {
 public:
  // `total_cost`: the summed estimated cost of the stages that will run.
  StudyProgress(Progress& out, double total_cost);
  // Stage `number` of `count` (1-based, counting the stages that run), with its description and cost.
  void begin_stage(int number, int count, const std::string& what, double cost);
  void end_stage();
  void update(double fraction, const std::string& text, bool force = false) override;
  void message(const std::string& text) override;
  double fraction() const;

 private:
  Progress& out_;
  double total_, done_ = 0, cost_ = 0, stage_fraction_ = 0;
  std::string prefix_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace mtmap::study
