// Per-unit tuning metrics. The FWHM uses trigonometric (band-limited) interpolation of the N samples
// rather than a von Mises fit: it is exact for curves with no harmonic above N/2, needs no
// optimiser, and does not force a single-peaked shape onto curves with an axial second lobe.
#include "analysis/tuning_curve.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <numbers>

#include "engine/core/error.h"

namespace mtmap::analysis {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double deg(double rad) { return rad * 180.0 / kPi; }

}  // namespace

std::vector<double> periodic_interpolate(std::span<const double> curve, int m) {
  const int n = static_cast<int>(curve.size());
  MTMAP_CHECK(n >= 2 && m % n == 0, "periodic_interpolate: {} samples to {} points", n, m);
  // DFT coefficients; the Nyquist term (even n) is split evenly between ±n/2 so the interpolant is
  // real and passes through every sample.
  std::vector<std::complex<double>> c(n);
  for (int h = 0; h < n; ++h) {
    std::complex<double> s = 0;
    for (int k = 0; k < n; ++k) s += curve[k] * std::polar(1.0, -2 * kPi * h * k / n);
    c[h] = s / double(n);
  }
  std::vector<double> out(m);
  for (int j = 0; j < m; ++j) {
    const double t = 2 * kPi * j / m;  // angle in radians
    double v = c[0].real();
    for (int h = 1; 2 * h < n; ++h) v += 2 * (c[h] * std::polar(1.0, h * t)).real();
    if (n % 2 == 0) v += c[n / 2].real() * std::cos(n / 2 * t);
    out[j] = v;
  }
  return out;
}

double fwhm_deg(std::span<const double> curve, const TuningConfig& cfg) {
  const int n = static_cast<int>(curve.size());
  const int m = n * cfg.fwhm_upsample;
  const std::vector<double> f = periodic_interpolate(curve, m);
  const int ip = static_cast<int>(std::max_element(f.begin(), f.end()) - f.begin());
  const double peak = f[ip];
  const double floor = cfg.fwhm_reference == "min" ? *std::min_element(f.begin(), f.end()) : 0.0;
  if (!(peak > floor)) return kNaN;
  const double level = floor + 0.5 * (peak - floor);
  const double step = 360.0 / m;
  // Walk away from the peak on each side until the curve drops below the level; interpolate the
  // crossing linearly between the two fine samples that bracket it.
  auto side = [&](int dir) -> double {
    for (int s = 1; s <= m / 2; ++s) {
      const double a = f[((ip + dir * (s - 1)) % m + m) % m];
      const double b = f[((ip + dir * s) % m + m) % m];
      if (b < level) return (s - 1 + (a - level) / (a - b)) * step;
    }
    return 180.0;
  };
  return std::min(360.0, side(+1) + side(-1));
}

double resultant_from_kappa(double kappa) {
  if (kappa <= 0) return 0;
  if (kappa < 1e-6) return kappa / 2;
  if (kappa < 600) return std::cyl_bessel_i(1.0, kappa) / std::cyl_bessel_i(0.0, kappa);
  // Asymptotic expansion of I1/I0 (Abramowitz & Stegun 9.7.1); I0 overflows near κ = 700.
  return 1 - 1 / (2 * kappa) - 1 / (8 * kappa * kappa) - 1 / (8 * kappa * kappa * kappa);
}

double kappa_from_resultant(double r) {
  if (!(r > 0)) return 0;
  if (r >= 1) return std::numeric_limits<double>::infinity();
  double lo = 1e-9, hi = 1e7;  // A(κ) is increasing: bisect in log κ
  if (r >= resultant_from_kappa(hi)) return std::numeric_limits<double>::infinity();
  for (int it = 0; it < 200; ++it) {
    const double mid = std::sqrt(lo * hi);
    (resultant_from_kappa(mid) < r ? lo : hi) = mid;
  }
  return std::sqrt(lo * hi);
}

double von_mises_fwhm_deg(double kappa) {
  if (std::isinf(kappa)) return 0;
  const double c = 1 + std::log(0.5) / kappa;
  if (!(c > -1)) return 360;
  return 2 * deg(std::acos(c));
}

UnitMetrics tuning_metrics(std::span<const double> curve, const TuningConfig& cfg) {
  const int n = static_cast<int>(curve.size());
  MTMAP_CHECK(n >= 4 && n % 2 == 0, "tuning curve has {} directions; need an even number ≥ 4 so that θ+180° is sampled",
              n);
  for (int k = 0; k < n; ++k)
    MTMAP_CHECK(std::isfinite(curve[k]), "tuning curve: response at direction {} ({}°) is {}", k, 360.0 * k / n,
                curve[k]);
  UnitMetrics u;
  const int ip = static_cast<int>(std::max_element(curve.begin(), curve.end()) - curve.begin());
  u.peak_response = curve[ip];
  u.null_response = curve[(ip + n / 2) % n];
  const double sum_pn = u.peak_response + u.null_response;
  u.dsi = sum_pn > 0 ? (u.peak_response - u.null_response) / sum_pn : kNaN;
  u.di = u.peak_response > 0 ? 1 - u.null_response / u.peak_response : kNaN;

  std::complex<double> z1 = 0, z2 = 0;
  double total = 0;
  for (int k = 0; k < n; ++k) {
    const double r = std::max(0.0, curve[k]);
    const double t = 2 * kPi * k / n;
    z1 += r * std::polar(1.0, t);
    z2 += r * std::polar(1.0, 2 * t);
    total += r;
  }
  if (total > 0) {
    u.cv_dir = 1 - std::abs(z1) / total;
    u.cv_ax = 1 - std::abs(z2) / total;
    u.vector_strength = 1 - u.cv_dir;
    u.kappa_from_cv = kappa_from_resultant(u.vector_strength);
    u.cv_bandwidth_deg = von_mises_fwhm_deg(u.kappa_from_cv);
  } else {
    u.cv_dir = u.cv_ax = u.kappa_from_cv = u.cv_bandwidth_deg = kNaN;
    u.vector_strength = 0;
  }
  if (cfg.preferred_direction == "argmax") {
    u.preferred_direction_deg = 360.0 * ip / n;
  } else {
    double a = std::fmod(deg(std::arg(z1)) + 360.0, 360.0);
    if (a >= 360.0) a = 0.0;  // −0.0…01° rounds up to 360 in the sum above
    u.preferred_direction_deg = std::abs(z1) > 0 ? a : kNaN;
  }
  u.fwhm_deg = fwhm_deg(curve, cfg);
  return u;
}

}  // namespace mtmap::analysis
