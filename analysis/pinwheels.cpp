#include "analysis/pinwheels.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "analysis/stats_util.h"

namespace mtmap::analysis {
namespace {

constexpr double kPi = std::numbers::pi;

double wrapped_step(std::complex<double> from, std::complex<double> to) {
  double d = std::arg(to) - std::arg(from);
  while (d <= -kPi) d += 2 * kPi;
  while (d > kPi) d -= 2 * kPi;
  return d;
}

// Zeros of the bilinear interpolants of Re z and Im z inside the unit cell [0,1)², and the sign of
// the Jacobian there (the zero's topological charge for a direction map).
struct CellZero {
  double u, v;
  int sign;
};

std::vector<CellZero> bilinear_zeros(std::complex<double> f00, std::complex<double> f10, std::complex<double> f01,
                                     std::complex<double> f11) {
  // f(u,v) = c0 + c1 u + c2 v + c3 u v, separately for the real (a) and imaginary (b) parts.
  const double a0 = f00.real(), a1 = f10.real() - a0, a2 = f01.real() - a0, a3 = f11.real() - f10.real() - f01.real() + a0;
  const double b0 = f00.imag(), b1 = f10.imag() - b0, b2 = f01.imag() - b0, b3 = f11.imag() - f10.imag() - f01.imag() + b0;
  // Eliminating v: (b0 + b1 u)(a2 + a3 u) − (b2 + b3 u)(a0 + a1 u) = 0.
  const double qa = b1 * a3 - b3 * a1, qb = b0 * a3 + b1 * a2 - b2 * a1 - b3 * a0, qc = b0 * a2 - b2 * a0;
  std::vector<double> us;
  const double scale = std::abs(qa) + std::abs(qb) + std::abs(qc);
  if (scale == 0) return {};
  if (std::abs(qa) < 1e-12 * scale) {
    if (std::abs(qb) > 1e-12 * scale) us.push_back(-qc / qb);
  } else {
    const double disc = qb * qb - 4 * qa * qc;
    if (disc >= 0) {
      const double s = std::sqrt(disc);
      const double q = -0.5 * (qb + std::copysign(s, qb));  // the numerically stable root pair
      us.push_back(q / qa);
      if (q != 0) us.push_back(qc / q);
    }
  }
  std::vector<CellZero> out;
  for (double u : us) {
    if (!(u >= 0 && u < 1)) continue;
    const double da = a2 + a3 * u, db = b2 + b3 * u;
    double v;
    if (std::abs(da) >= std::abs(db)) {
      if (da == 0) continue;
      v = -(a0 + a1 * u) / da;
    } else {
      v = -(b0 + b1 * u) / db;
    }
    if (!(v >= 0 && v < 1)) continue;
    const double det = (a1 + a3 * v) * (b2 + b3 * u) - (a2 + a3 * u) * (b1 + b3 * v);
    if (det == 0) continue;
    out.push_back({u, v, det > 0 ? 1 : -1});
  }
  return out;
}

}  // namespace

int winding_number(std::complex<double> a, std::complex<double> b, std::complex<double> c, std::complex<double> d) {
  const double total = wrapped_step(a, b) + wrapped_step(b, c) + wrapped_step(c, d) + wrapped_step(d, a);
  return static_cast<int>(std::lround(total / (2 * kPi)));
}

PinwheelResult find_pinwheels(const FieldGrid& g, double period_deg, double mask_fraction, double border_mm,
                              double match_mm) {
  PinwheelResult r;
  r.border_mm = border_mm;
  const double harmonic = 360.0 / period_deg;  // charge = winding of arg z / harmonic
  const double x_lo = g.x0 + border_mm, x_hi = g.x(g.nx - 1) - border_mm;
  const double y_lo = g.y0 + border_mm, y_hi = g.y(g.ny - 1) - border_mm;
  auto inside_point = [&](int ix, int iy) {
    return g.x(ix) >= x_lo - 1e-12 && g.x(ix) <= x_hi + 1e-12 && g.y(iy) >= y_lo - 1e-12 && g.y(iy) <= y_hi + 1e-12;
  };
  std::vector<double> mags;
  for (int iy = 0; iy < g.ny; ++iy)
    for (int ix = 0; ix < g.nx; ++ix)
      if (inside_point(ix, iy) && g.coverage[g.at(ix, iy)] > 0) mags.push_back(std::abs(g.z[g.at(ix, iy)]));
  r.magnitude_threshold = mags.empty() ? 0 : mask_fraction * median(mags);
  if (match_mm < 0) match_mm = g.h;

  for (int iy = 0; iy + 1 < g.ny; ++iy)
    for (int ix = 0; ix + 1 < g.nx; ++ix) {
      if (!inside_point(ix, iy) || !inside_point(ix + 1, iy + 1)) continue;
      const size_t i00 = g.at(ix, iy), i10 = g.at(ix + 1, iy), i01 = g.at(ix, iy + 1), i11 = g.at(ix + 1, iy + 1);
      if (g.coverage[i00] <= 0 || g.coverage[i10] <= 0 || g.coverage[i01] <= 0 || g.coverage[i11] <= 0) continue;
      const double biggest = std::max({std::abs(g.z[i00]), std::abs(g.z[i10]), std::abs(g.z[i01]), std::abs(g.z[i11])});
      if (biggest < r.magnitude_threshold || biggest == 0) continue;
      ++r.analysed_cells;
      // Counter-clockwise loop in (x, y): (ix,iy) → (ix+1,iy) → (ix+1,iy+1) → (ix,iy+1) → back.
      const int w = winding_number(g.z[i00], g.z[i10], g.z[i11], g.z[i01]);
      if (w != 0) {
        r.pinwheels.push_back({g.x(ix) + g.h / 2, g.y(iy) + g.h / 2, w / harmonic});
        (w > 0 ? r.n_positive : r.n_negative) += std::abs(w);
      }
      for (const CellZero& c : bilinear_zeros(g.z[i00], g.z[i10], g.z[i01], g.z[i11])) {
        r.zero_crossings.push_back({g.x(ix) + c.u * g.h, g.y(iy) + c.v * g.h, c.sign / harmonic});
        (c.sign > 0 ? r.zc_positive : r.zc_negative) += 1;
      }
    }
  r.analysed_area_mm2 = r.analysed_cells * g.h * g.h;
  r.density_per_mm2 = r.analysed_area_mm2 > 0 ? (r.n_positive + r.n_negative) / r.analysed_area_mm2 : 0;
  std::vector<bool> used(r.zero_crossings.size(), false);
  for (const Pinwheel& p : r.pinwheels) {
    for (size_t j = 0; j < r.zero_crossings.size(); ++j) {
      const Pinwheel& q = r.zero_crossings[j];
      if (used[j] || q.charge != p.charge) continue;
      if (std::hypot(p.x_mm - q.x_mm, p.y_mm - q.y_mm) <= match_mm) {
        used[j] = true;
        ++r.matched;
        break;
      }
    }
  }
  return r;
}

}  // namespace mtmap::analysis
