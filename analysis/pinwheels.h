#pragma once
// Pinwheels of a direction (or axis) map (docs/measurements.md §5): topological charge around every
// closed 2×2 plaquette, cross-checked by the crossings of the zero contours of Re z and Im z.
#include <vector>

#include "analysis/direction_map.h"

namespace mtmap::analysis {

struct Pinwheel {
  double x_mm = 0, y_mm = 0;
  double charge = 0;  // ±1 for direction maps, ±½ for axis maps
};

struct PinwheelResult {
  std::vector<Pinwheel> pinwheels;      // plaquette method (the reported count); at cell centres
  std::vector<Pinwheel> zero_crossings;  // zero-contour method, at the bilinear zero
  int n_positive = 0, n_negative = 0;
  int zc_positive = 0, zc_negative = 0;
  int matched = 0;  // plaquette pinwheels with a zero crossing of the same sign within match_mm
  int analysed_cells = 0;
  double analysed_area_mm2 = 0;
  double border_mm = 0;
  double magnitude_threshold = 0;  // |z| below which a cell is masked (mask_fraction · median |z|)
  double density_per_mm2 = 0;      // (n_positive + n_negative) / analysed area
};

// Cells closer than `border_mm` to the grid's edge are excluded, as are cells with an uncovered
// corner or whose largest corner |z| is below mask_fraction · median |z| (median over covered grid
// points inside the border). match_mm < 0 means one grid spacing.
PinwheelResult find_pinwheels(const FieldGrid& g, double period_deg, double mask_fraction, double border_mm,
                              double match_mm = -1);

// Winding number of arg z around the closed loop a → b → c → d → a, each step wrapped into (−π, π].
int winding_number(std::complex<double> a, std::complex<double> b, std::complex<double> c, std::complex<double> d);

}  // namespace mtmap::analysis
