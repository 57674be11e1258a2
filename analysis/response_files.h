#pragma once
// The analysis of saved response arrays (what `mtmap analyze-responses` runs): a response array
// (units × directions × SF × TF × phases, .npy) and the grey-baseline responses, plus the map half
// when unit positions are given; the run folder written. The same code `mtmap analyze` runs on a
// model's probe, here on arrays from anywhere (synthetic data, recordings).
#include <optional>
#include <string>

#include "analysis/config.h"
#include "analysis/map_analysis.h"
#include "analysis/responses.h"

namespace mtmap::analysis {

struct ResponseFiles {
  std::string responses;  // .npy (units, directions, SF, TF, phases), time-averaged
  std::string baseline;   // .npy (units); required while tuning.subtract_baseline is on
  std::string positions;  // optional: .csv or .npy with x_mm, y_mm, one row per unit
};

struct ResponseFilesResult {
  TuningResult tuning;
  std::optional<MapResult> map;  // when positions were given
};

// Reads and validates the files (every problem names the file, and the row for a bad position),
// analyses, and writes the run folder `out_dir`.
ResponseFilesResult analyze_response_files(const ResponseFiles& files, const AnalysisConfig& cfg,
                                           const std::string& out_dir);

}  // namespace mtmap::analysis
