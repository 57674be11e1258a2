#pragma once
// Map statistics on the units themselves (docs/measurements.md §6): the Δ histogram of nearest
// neighbours and smoothness versus cortical distance, each against shuffled positions (chance).
#include <vector>

#include "analysis/config.h"
#include "analysis/direction_map.h"

namespace mtmap::analysis {

struct DeltaHistogram {
  std::vector<double> edges_deg;        // (bins + 1) over [0, period/2]
  std::vector<double> fraction;         // (bins) real positions, sums to 1
  std::vector<double> fraction_shuffled;  // (bins) mean over shuffles
  double mean_delta_deg = 0, mean_delta_shuffled_deg = 0;
  int pairs = 0;
};

struct SmoothnessCurve {
  std::vector<double> distance_mm;  // (bins) bin centres
  std::vector<double> mean_delta_deg, mean_delta_shuffled_deg, ratio;  // ratio = real / shuffled
  std::vector<long long> pairs;
  int reference_units = 0;
};

// |Δ| between unit and each of its `delta_neighbours` nearest neighbours, wrapped to
// [0, period/2]. Shuffling permutes the preferred directions over the positions (seeded).
DeltaHistogram delta_histogram(const MapUnits& u, const StatsConfig& cfg, double period_deg);
SmoothnessCurve smoothness(const MapUnits& u, const StatsConfig& cfg, double period_deg);

}  // namespace mtmap::analysis
