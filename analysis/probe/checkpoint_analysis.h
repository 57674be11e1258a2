#pragma once
// `mtmap analyze --checkpoint`: a trained (or freshly initialised) model → its probed block's
// responses to the grating sweep → the same per-unit, population and map analysis, run folder and
// report as `mtmap analyze-responses`. Everything that can be wrong with the inputs (checkpoint,
// model description, layer, sheet, device) is checked before the first clip and before anything is
// written, so a failed run leaves the output folder as it was.
#include <functional>
#include <string>

#include "analysis/config.h"
#include "engine/core/progress.h"

namespace mtmap::analysis {

struct CheckpointAnalysisOptions {
  std::string checkpoint;  // safetensors file (models/checkpoint.h)
  std::string sheet;       // optional: positions from this file instead of the checkpoint's
  std::string out_dir;
  AnalysisConfig config;                        // resolved: probe, model, tuning, map, …
  std::string config_origin;                    // names the config in messages ("defaults" without --config)
  bool report = false;                          // also write report.html
  // Messages (the model, what is probed, a skipped map) and the probe's progress: through `progress`
  // when given (updates "probe layer3.1: batch i/N (…), clips/s, ETA", the rest messages), else
  // through `log` (messages, and a probe line at most every 5 s plus the last); neither: quiet.
  std::function<void(const std::string&)> log;
  Progress* progress = nullptr;
};

struct CheckpointAnalysisSummary {
  int units = 0, responsive = 0, selective = 0, clips = 0, batches = 0;
  bool map = false;
  double probe_seconds = 0, total_seconds = 0;
};

CheckpointAnalysisSummary analyze_checkpoint(const CheckpointAnalysisOptions& o);

}  // namespace mtmap::analysis
