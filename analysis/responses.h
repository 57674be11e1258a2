#pragma once
// Entry point of the per-unit analysis: the responses of every unit to the drifting-grating sweep
// (docs/measurements.md §1) → per-unit table and population results. `mtmap analyze` feeds it the
// model's layer responses; tests feed it synthetic ones.
#include <span>
#include <vector>

#include "analysis/config.h"
#include "analysis/population.h"
#include "analysis/tuning_curve.h"

namespace mtmap::analysis {

struct ResponseArray {
  int units = 0, directions = 0, sfs = 0, tfs = 0, phases = 0;
  std::vector<double> values;  // (units, directions, sfs, tfs, phases), row-major, time-averaged
  double at(int u, int d, int s, int t, int p) const {
    return values[(((size_t(u) * directions + d) * sfs + s) * tfs + t) * phases + p];
  }
};

struct TuningResult {
  int n_directions = 0;
  std::vector<double> curves;  // (units, directions): the curves the metrics came from
  std::vector<UnitMetrics> units;
  PopulationResult population;
};

// `baseline`: (units) responses to the uniform grey clip; may be empty only when
// cfg.subtract_baseline is false. Directions are θ_k = 360°·k/directions.
TuningResult analyze_responses(const ResponseArray& responses, std::span<const double> baseline,
                               const TuningConfig& cfg);

}  // namespace mtmap::analysis
