#include "analysis/reference_values.h"

namespace mtmap::analysis {

const std::vector<ReferenceRow>& macaque_reference_table() {
  static const std::vector<ReferenceRow> rows = {
      {"DI = 1 − R_n/R_p", "median ≈ 0.9–1.0 (can exceed 1: inhibitory null)", "Maunsell & Van Essen 1983; Albright 1984"},
      {"DSI (sum form)", "≈ 0.8–1.0 by conversion; V3A mean 0.41 for contrast", "converted; Gaska et al. 1988"},
      {"fraction direction-selective", "\"almost all\"; ≈ 80–95 %", "Movshon & Newsome 1992; Albright 1984"},
      {"direction bandwidth (FWHM)", "≈ 83°; ≈ 90–100°; ≈ 108°", "Albright 1984; Britten & Newsome 1998; σ 0.80 rad"},
      {"direction CV", "≈ 0.15–0.30 baseline-subtracted (derived from bandwidth)", "derived"},
      {"pinwheel density",
       "≈ 4.9 /mm² = π/Λ² with Λ ≈ 0.8 mm (an estimate, not a measurement); 1.6–6.4 /mm² for Λ = 0.7–1.4 mm",
       "Kaschube et al. 2010; Diogo et al. 2003"},
      {"PTC at 180°", "≈ 0 (single peak)", "Rodman & Albright 1987"},
  };
  return rows;
}

}  // namespace mtmap::analysis
