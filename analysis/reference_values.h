#pragma once
// Macaque MT reference values, exactly as docs/measurements.md §7 gives them, with its citations.
// The report draws them as literature estimates next to the model's numbers, never as pass/fail
// thresholds.
#include <string>
#include <vector>

namespace mtmap::analysis {

struct ReferenceRow {
  std::string metric, reference, source;
};

// The table of docs/measurements.md §7, row for row.
const std::vector<ReferenceRow>& macaque_reference_table();

// Numbers drawn into plots (all from the table above).
namespace macaque {
inline constexpr double di_median_low = 0.9, di_median_high = 1.0;          // Maunsell & Van Essen 1983; Albright 1984
inline constexpr double dsi_low = 0.8, dsi_high = 1.0;                      // converted from DI
inline constexpr double dsi_v3a_mean = 0.41;                                // Gaska et al. 1988
inline constexpr double fraction_ds_low = 0.80, fraction_ds_high = 0.95;    // Movshon & Newsome 1992; Albright 1984
inline constexpr double fwhm_albright_deg = 83;                             // Albright 1984
inline constexpr double fwhm_britten_low_deg = 90, fwhm_britten_high_deg = 100;  // Britten & Newsome 1998
inline constexpr double fwhm_sigma_deg = 108;                               // σ 0.80 rad
inline constexpr double cv_low = 0.15, cv_high = 0.30;                      // derived from bandwidth
inline constexpr double pinwheel_density_per_mm2 = 4.9;                     // π/Λ², Λ ≈ 0.8 mm (estimate)
inline constexpr double pinwheel_density_low = 1.6, pinwheel_density_high = 6.4;  // Λ = 0.7–1.4 mm
inline constexpr double ptc_a180 = 0;                                       // Rodman & Albright 1987
inline constexpr double rho_v1 = 3.14159265358979;                          // Kaschube et al. 2010 (V1)
}  // namespace macaque

}  // namespace mtmap::analysis
