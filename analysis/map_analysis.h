#pragma once
// The map half of the analysis (docs/measurements.md §4–6) on any table of unit positions and
// preferred directions: smoothed field, pinwheels, density per mm² and per Λ², density versus
// smoothing width, Δ histogram and smoothness.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "analysis/config.h"
#include "analysis/direction_map.h"
#include "analysis/map_stats.h"
#include "analysis/pinwheels.h"
#include "analysis/spectrum.h"

namespace mtmap::analysis {

struct DensityPoint {
  double width_mm = 0;
  int n_positive = 0, n_negative = 0;
  double area_mm2 = 0, density_per_mm2 = 0, lambda_mm = 0, density_per_lambda2 = 0;
};

struct MapResult {
  int n_units = 0;
  double extent_x_mm = 0, extent_y_mm = 0;
  FieldGrid grid;  // at the configured smoothing width
  PinwheelResult pinwheels;
  SpectrumResult spectrum;
  std::string spectrum_error;      // why Λ is missing, when it is
  double density_per_lambda2 = 0;  // ρ = count / (area / Λ²)
  std::vector<DensityPoint> density_vs_width;
  DeltaHistogram delta;
  SmoothnessCurve smooth;
};

MapResult analyze_map(const MapUnits& units, const AnalysisConfig& cfg);
nlohmann::json map_result_json(const MapResult& r);

}  // namespace mtmap::analysis
