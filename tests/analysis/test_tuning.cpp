// Per-unit metrics against analytic values for von Mises tuning curves (docs/measurements.md §2).
#include <catch2/catch.hpp>

#include <cmath>

#include "analysis/tuning_curve.h"
#include "engine/core/error.h"
#include "tests/analysis/von_mises.h"

using namespace mtmap::analysis;
using namespace mtmap::analysis::testing;

TEST_CASE("von Mises resultant and its inverse match tabulated Bessel values", "[analysis][tuning]") {
  // Abramowitz & Stegun table 9.8: I0(1) = 1.266065878, I1(1) = 0.565159104; I1(2)/I0(2) from
  // I0(2) = 2.279585302, I1(2) = 1.590636855.
  CHECK(resultant_from_kappa(1.0) == Approx(0.565159104 / 1.266065878).epsilon(1e-8));
  CHECK(resultant_from_kappa(2.0) == Approx(1.590636855 / 2.279585302).epsilon(1e-8));
  CHECK(kappa_from_resultant(0.565159104 / 1.266065878) == Approx(1.0).epsilon(1e-7));
  // Large κ takes the asymptotic branch: 1 − 1/(2κ) − 1/(8κ²) − 1/(8κ³) is accurate to O(κ⁻⁴).
  CHECK(kappa_from_resultant(1 - 1 / 2000.0 - 1 / 8e6 - 1 / 8e9) == Approx(1000.0).epsilon(1e-6));
  CHECK(kappa_from_resultant(0.0) == 0.0);
  CHECK(std::isinf(kappa_from_resultant(1.0)));
  CHECK(von_mises_fwhm_deg(2.0) == Approx(vm_fwhm(2.0)));
  CHECK(von_mises_fwhm_deg(0.3) == 360.0);  // 1 + ln 0.5/0.3 < −1: never falls to half
}

TEST_CASE("DSI, DI, CV, axial CV and bandwidths of a sampled von Mises with a null response", "[analysis][tuning]") {
  const int n = 16;
  const double kappa = 2.0, amplitude = 10.0, offset = 1.0, mu = 67.5;
  TuningConfig cfg;
  const auto curve = vm_curve(n, mu, kappa, amplitude, offset);
  const UnitMetrics m = tuning_metrics(curve, cfg);

  const double rp = offset + amplitude, rn = offset + amplitude * std::exp(-2 * kappa);
  CHECK(m.peak_response == Approx(rp));
  CHECK(m.null_response == Approx(rn));
  CHECK(m.dsi == Approx((rp - rn) / (rp + rn)));
  CHECK(m.di == Approx(1 - rn / rp));
  CHECK(m.dsi == Approx(m.di / (2 - m.di)));
  CHECK(m.preferred_direction_deg == Approx(mu).margin(1e-9));

  // Σ R_k = N (B + A e^{−κ} S0), |Σ R_k e^{imθ_k}| = N A e^{−κ} S_m.
  const double s0 = aliased_bessel(0, kappa, n), s1 = aliased_bessel(1, kappa, n), s2 = aliased_bessel(2, kappa, n);
  const double total = offset + amplitude * std::exp(-kappa) * s0;
  CHECK(m.cv_dir == Approx(1 - amplitude * std::exp(-kappa) * s1 / total).epsilon(1e-10));
  CHECK(m.cv_ax == Approx(1 - amplitude * std::exp(-kappa) * s2 / total).epsilon(1e-10));

  // FWHM at half the peak (zero reference): B + A e^{κ(cos x − 1)} = (A + B)/2.
  const double half_zero = std::acos(1 + std::log((amplitude - offset) / (2 * amplitude)) / kappa) * 360 / kPi;
  CHECK(m.fwhm_deg == Approx(half_zero).margin(0.05));
  // Half-way between minimum and peak: e^{κ(cos x − 1)} = (1 + e^{−2κ})/2.
  TuningConfig cfg_min;
  cfg_min.fwhm_reference = "min";
  const double half_min = std::acos(1 + std::log((1 + std::exp(-2 * kappa)) / 2) / kappa) * 360 / kPi;
  CHECK(fwhm_deg(curve, cfg_min) == Approx(half_min).margin(0.05));
}

TEST_CASE("Pure von Mises: FWHM and the CV-derived bandwidth both equal 2 arccos(1 + ln 0.5/κ)", "[analysis][tuning]") {
  TuningConfig cfg;
  for (double kappa : {1.0, 2.0, 4.0}) {
    for (double mu : {0.0, 90.0, 202.5, 337.5}) {
      const UnitMetrics m = tuning_metrics(vm_curve(16, mu, kappa, 3.0, 0.0), cfg);
      INFO("kappa " << kappa << " mu " << mu);
      // Sampling at 16 directions aliases I_15, I_17 into the resultant: negligible for κ ≤ 4.
      CHECK(m.kappa_from_cv == Approx(kappa).epsilon(1e-6));
      CHECK(m.cv_bandwidth_deg == Approx(vm_fwhm(kappa)).margin(1e-4));
      CHECK(m.fwhm_deg == Approx(vm_fwhm(kappa)).margin(0.1));
      CHECK(m.preferred_direction_deg == Approx(mu).margin(1e-9));
    }
  }
}

TEST_CASE("An axial second lobe inflates the CV bandwidth but not the FWHM", "[analysis][tuning]") {
  const int n = 16;
  const double kappa = 3.0, a1 = 1.0, a2 = 0.5, mu = 45.0;
  std::vector<double> curve(n);
  for (int k = 0; k < n; ++k) curve[k] = a1 * vm(22.5 * k, mu, kappa) + a2 * vm(22.5 * k, mu + 180, kappa);
  const UnitMetrics m = tuning_metrics(curve, TuningConfig{});
  // Opposite lobes cancel in the first harmonic and add in the second.
  const double s0 = aliased_bessel(0, kappa, n), s1 = aliased_bessel(1, kappa, n), s2 = aliased_bessel(2, kappa, n);
  CHECK(m.cv_dir == Approx(1 - (a1 - a2) * s1 / ((a1 + a2) * s0)).epsilon(1e-10));
  CHECK(m.cv_ax == Approx(1 - s2 / s0).epsilon(1e-10));
  CHECK(m.di == Approx(1 - (a2 + a1 * std::exp(-2 * kappa)) / (a1 + a2 * std::exp(-2 * kappa))));
  // The second lobe is ~e^{−5.3} of itself at the main lobe's half-level: FWHM stays within 1°.
  CHECK(m.fwhm_deg == Approx(vm_fwhm(kappa)).margin(1.0));
  CHECK(m.cv_bandwidth_deg > m.fwhm_deg + 30.0);
}

TEST_CASE("An inhibitory null response gives DI above 1 and clips at 0 for CV", "[analysis][tuning]") {
  // Baseline-subtracted curve dipping below zero opposite the peak.
  auto curve = vm_curve(16, 0.0, 2.0, 4.0, -0.5);
  const UnitMetrics m = tuning_metrics(curve, TuningConfig{});
  CHECK(m.di > 1.0);
  CHECK(m.di == Approx(1 - (-0.5 + 4 * std::exp(-4.0)) / 3.5));
  std::vector<double> clipped = curve;
  for (double& v : clipped) v = std::max(v, 0.0);
  const UnitMetrics c = tuning_metrics(clipped, TuningConfig{});
  CHECK(m.cv_dir == Approx(c.cv_dir));
  CHECK(m.cv_ax == Approx(c.cv_ax));
}

TEST_CASE("Preferred direction: argmax option and off-grid vector sum", "[analysis][tuning]") {
  TuningConfig argmax;
  argmax.preferred_direction = "argmax";
  const auto curve = vm_curve(16, 100.0, 2.0, 1.0, 0.0);
  CHECK(tuning_metrics(curve, argmax).preferred_direction_deg == Approx(90.0));
  // A symmetric curve centred off the grid: the vector sum recovers its centre to the aliasing error.
  CHECK(tuning_metrics(curve, TuningConfig{}).preferred_direction_deg == Approx(100.0).margin(1e-3));
}

TEST_CASE("Bad tuning curves are rejected naming the direction", "[analysis][tuning]") {
  std::vector<double> odd(15, 1.0);
  CHECK_THROWS_WITH(tuning_metrics(odd, TuningConfig{}), Catch::Contains("15 directions"));
  std::vector<double> bad(16, 1.0);
  bad[3] = std::nan("");
  CHECK_THROWS_WITH(tuning_metrics(bad, TuningConfig{}), Catch::Contains("direction 3 (67.5°)"));
}
