#pragma once
// The direction map on the cortical sheet (docs/measurements.md §4): unit positions and preferred
// directions → a smoothed complex field z on a regular grid. z is smoothed, never the angles.
#include <complex>
#include <string>
#include <vector>

namespace mtmap::analysis {

// One row per unit: sheet position in mm, preferred direction in degrees, weight (the vector
// strength for model units; 1 when a table gives none).
struct MapUnits {
  std::vector<double> x_mm, y_mm, theta_deg, weight;
  size_t size() const { return x_mm.size(); }
};

// Throws naming the first unit (row) with a non-finite or negative value, or on an empty table.
void check_map_units(const MapUnits& u, const std::string& origin);

struct FieldGrid {
  int nx = 0, ny = 0;
  double x0 = 0, y0 = 0, h = 0;              // grid point (ix, iy) sits at (x0 + ix·h, y0 + iy·h) mm
  std::vector<std::complex<double>> z;       // (ny, nx): Σ w K e^{i·(360/period)·θ} / Σ K
  std::vector<double> coverage;              // (ny, nx): Σ K; 0 where no unit reaches the point
  size_t at(int ix, int iy) const { return size_t(iy) * nx + ix; }
  double x(int ix) const { return x0 + ix * h; }
  double y(int iy) const { return y0 + iy * h; }
};

// `kernel`: "gaussian" (σ = width_mm, truncated at 4σ) or "window" (square of side width_mm).
// The grid spans the units' bounding box.
FieldGrid smooth_field(const MapUnits& units, const std::string& kernel, double width_mm, double spacing_mm,
                       double period_deg);

// Preferred-direction (degrees in [0, period)) and magnitude of one grid point.
double field_angle_deg(std::complex<double> z, double period_deg);

}  // namespace mtmap::analysis
