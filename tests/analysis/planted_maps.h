#pragma once
// Fields with known pinwheels and known column spacing, built from formulas.
#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <vector>

#include "analysis/direction_map.h"

namespace mtmap::analysis::testing {

struct Planted {
  double x, y;
  int charge;
};

// z(w) = Π (w − p)^{+1} for +1 and conj(w − p) for −1 (a zero of winding −1), or with
// `poles` the literal (w − p)^{−1}.
inline std::complex<double> planted_field(double x, double y, const std::vector<Planted>& ps, bool poles = false) {
  std::complex<double> z = 1.0;
  for (const auto& p : ps) {
    const std::complex<double> w(x - p.x, y - p.y);
    if (p.charge > 0) z *= w;
    else z *= poles ? 1.0 / w : std::conj(w);
  }
  return z;
}

// Superposition of n plane waves with |k| = 2π/Λ, random directions and phases: a monochromatic
// random field (or, for n = 3 at 120°, a hexagonal pinwheel crystal).
struct WaveField {
  std::vector<double> kx, ky, phase;
  std::complex<double> operator()(double x, double y) const {
    std::complex<double> z = 0;
    for (size_t j = 0; j < kx.size(); ++j) z += std::polar(1.0, kx[j] * x + ky[j] * y + phase[j]);
    return z;
  }
};

inline WaveField random_waves(int n, double lambda_mm, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> angle(0, 2 * std::numbers::pi);
  WaveField f;
  const double k = 2 * std::numbers::pi / lambda_mm;
  for (int j = 0; j < n; ++j) {
    const double a = angle(rng);
    f.kx.push_back(k * std::cos(a));
    f.ky.push_back(k * std::sin(a));
    f.phase.push_back(angle(rng));
  }
  return f;
}

template <typename F>
FieldGrid grid_from(F field, double side_mm, double h) {
  FieldGrid g;
  g.h = h;
  g.nx = g.ny = static_cast<int>(std::lround(side_mm / h)) + 1;
  g.z.resize(size_t(g.nx) * g.ny);
  g.coverage.assign(g.z.size(), 1.0);
  for (int iy = 0; iy < g.ny; ++iy)
    for (int ix = 0; ix < g.nx; ++ix) g.z[g.at(ix, iy)] = field(g.x(ix), g.y(iy));
  return g;
}

}  // namespace mtmap::analysis::testing
