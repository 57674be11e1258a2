#pragma once
// Analytic ground truth for tuning curves built from von Mises functions, sampled at N directions.
// The discrete sums follow from the Jacobi-Anger expansion e^{κ cos t} = Σ_m I_m(κ) e^{imt}:
// (1/N) Σ_k e^{κ cos θ_k} e^{i m θ_k} = Σ_j I_{m+jN}(κ) (aliasing of the harmonics onto m).
#include <cmath>
#include <numbers>
#include <vector>

namespace mtmap::analysis::testing {

inline constexpr double kPi = std::numbers::pi;
inline double rad(double d) { return d * kPi / 180.0; }

// vm(θ) = exp(κ (cos(θ − μ) − 1)): peak 1 at μ.
inline double vm(double theta_deg, double mu_deg, double kappa) {
  return std::exp(kappa * (std::cos(rad(theta_deg - mu_deg)) - 1));
}

inline std::vector<double> vm_curve(int n, double mu_deg, double kappa, double amplitude, double offset) {
  std::vector<double> c(n);
  for (int k = 0; k < n; ++k) c[k] = offset + amplitude * vm(360.0 * k / n, mu_deg, kappa);
  return c;
}

// (1/N) Σ_k exp(κ cos θ_k) e^{i m θ_k} for a peak on a sample (real), with aliasing terms.
inline double aliased_bessel(int m, double kappa, int n) {
  double s = 0;
  for (int j = -4; j <= 4; ++j) s += std::cyl_bessel_i(double(std::abs(m + j * n)), kappa);
  return s;
}

// FWHM of exp(κ cos θ), degrees.
inline double vm_fwhm(double kappa) { return 2 * std::acos(1 + std::log(0.5) / kappa) * 180 / kPi; }

}  // namespace mtmap::analysis::testing
