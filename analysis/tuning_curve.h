#pragma once
// Per-unit direction-tuning metrics (docs/measurements.md §2) from one tuning curve sampled at N equally
// spaced directions θ_k = 360°·k/N, k = 0..N−1 (0° = rightward, counter-clockwise positive).
#include <span>
#include <vector>

#include "analysis/config.h"

namespace mtmap::analysis {

struct UnitMetrics {
  double preferred_direction_deg = 0;  // [0, 360); NaN when the curve has no positive response
  double peak_response = 0;            // R_p: the largest sample (argmax)
  double null_response = 0;            // R_n: the sample 180° from the argmax
  double dsi = 0;                      // (R_p − R_n)/(R_p + R_n)
  double di = 0;                       // 1 − R_n/R_p
  double cv_dir = 0;                   // 1 − |Σ R e^{iθ}|/Σ R   (R clipped at 0)
  double cv_ax = 0;                    // 1 − |Σ R e^{2iθ}|/Σ R  (R clipped at 0)
  double vector_strength = 0;          // 1 − cv_dir: the unit's weight on the direction map
  double fwhm_deg = 0;                 // main-peak FWHM of the interpolated curve
  double kappa_from_cv = 0;            // κ with I1(κ)/I0(κ) = 1 − cv_dir
  double cv_bandwidth_deg = 0;         // 2·arccos(1 + ln(0.5)/κ)
  int best_sf = -1, best_tf = -1;      // (SF, TF) the curve came from; −1 when averaged
  bool responsive = false;
  bool selective = false;
};

// All metrics except `responsive`/`selective`, which need the whole population. `curve` is the
// (baseline-subtracted) response; negative values are clipped at 0 for the preferred direction
// (vector sum), CV_dir, CV_ax and the CV-derived bandwidth, and kept for DSI, DI and the FWHM.
UnitMetrics tuning_metrics(std::span<const double> curve, const TuningConfig& cfg);  // curve: (N)

// Main-peak full width at half maximum in degrees, from the trigonometric interpolation of the
// periodic samples (`upsample` points per sample step). 360 when the curve never falls below the
// level on one side of the peak.
double fwhm_deg(std::span<const double> curve, const TuningConfig& cfg);

// Inverse of A(κ) = I1(κ)/I0(κ) (the von Mises mean resultant length); +inf for r ≥ 1, 0 for r ≤ 0.
double kappa_from_resultant(double r);
double resultant_from_kappa(double kappa);
// FWHM of exp(κ cos θ) in degrees: 2·arccos(1 + ln(0.5)/κ); 360 when it never falls to half.
double von_mises_fwhm_deg(double kappa);

// Trigonometric interpolation of periodic samples at `m` equally spaced points (m multiple of N).
std::vector<double> periodic_interpolate(std::span<const double> curve, int m);

}  // namespace mtmap::analysis
