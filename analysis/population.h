#pragma once
// Population results (docs/measurements.md §2 "selective unit", §3 population tuning curve).
#include <span>
#include <vector>

#include "analysis/config.h"
#include "analysis/tuning_curve.h"

namespace mtmap::analysis {

struct MetricMedians {
  int count = 0;
  double dsi, di, cv_dir, cv_ax, fwhm_deg, cv_bandwidth_deg;
};

struct PopulationResult {
  int n_units = 0, n_responsive = 0, n_selective = 0;
  double responsive_peak_threshold = 0;  // the absolute peak response the rule resolved to
  double fraction_responsive = 0;        // of all units
  double fraction_selective = 0;         // of all units
  double fraction_selective_of_responsive = 0;
  MetricMedians selective, responsive;
  std::vector<double> ptc;  // (N) mean rotated, peak-normalised curve; index 0 = preferred
  double ptc_fwhm_deg = 0;
  double ptc_a180 = 0;  // PTC(180°)/PTC(0°)
};

// Sets `responsive` and `selective` on every unit (the responsive rule needs the population's
// peaks) and returns the threshold it used.
double classify_units(std::vector<UnitMetrics>& units, const TuningConfig& cfg);

// `curves`: (U, N) row-major, the same curves the metrics came from. Calls classify_units.
PopulationResult population_result(std::span<const double> curves, int n_directions, std::vector<UnitMetrics>& units,
                                   const TuningConfig& cfg);

}  // namespace mtmap::analysis
