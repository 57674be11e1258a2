#pragma once
// Column spacing Λ from the peak of the radially averaged power spectrum of z
// (docs/measurements.md §5).
#include <vector>

#include "analysis/direction_map.h"

namespace mtmap::analysis {

struct SpectrumResult {
  std::vector<double> k_cyc_per_mm;  // bin centres
  std::vector<double> power;         // radially averaged |Z(k)|², normalised to its maximum
  double k_peak_cyc_per_mm = 0;
  double lambda_mm = 0;     // 1 / k_peak
  double k_min_cyc_per_mm = 0;  // bins below this (wavelengths over half the window) are not searched
};

// Uses the grid points at least `border_mm` from the edge; uncovered points count as z = 0. The
// field's mean is removed, a 2-D Hann window applied and the window zero-padded `pad`-fold so the
// radial spectrum is sampled finely; the peak is refined by a parabola through three bins.
SpectrumResult power_spectrum(const FieldGrid& g, double border_mm, int pad = 4);

}  // namespace mtmap::analysis
