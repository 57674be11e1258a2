// Each unit scatters into the grid points its kernel reaches (a truncated Gaussian or a square
// window), so the cost is units × kernel footprint rather than units × grid points.
#include "analysis/direction_map.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "engine/core/error.h"

namespace mtmap::analysis {

void check_map_units(const MapUnits& u, const std::string& origin) {
  MTMAP_CHECK(u.size() > 0, "{}: the unit table is empty", origin);
  MTMAP_CHECK(u.y_mm.size() == u.size() && u.theta_deg.size() == u.size() && u.weight.size() == u.size(),
              "{}: column lengths differ (x {}, y {}, direction {}, weight {})", origin, u.x_mm.size(), u.y_mm.size(),
              u.theta_deg.size(), u.weight.size());
  for (size_t i = 0; i < u.size(); ++i) {
    MTMAP_CHECK(std::isfinite(u.x_mm[i]) && std::isfinite(u.y_mm[i]), "{}: unit {} has position ({}, {})", origin, i,
                u.x_mm[i], u.y_mm[i]);
    MTMAP_CHECK(std::isfinite(u.theta_deg[i]), "{}: unit {} has preferred direction {}", origin, i, u.theta_deg[i]);
    MTMAP_CHECK(std::isfinite(u.weight[i]) && u.weight[i] >= 0, "{}: unit {} has weight {} (need finite, ≥ 0)", origin,
                i, u.weight[i]);
  }
}

double field_angle_deg(std::complex<double> z, double period_deg) {
  const double a = std::arg(z) * 180.0 / std::numbers::pi * (period_deg / 360.0);
  const double r = std::fmod(a + period_deg, period_deg);
  return r >= period_deg ? 0.0 : r;
}

FieldGrid smooth_field(const MapUnits& units, const std::string& kernel, double width_mm, double spacing_mm,
                       double period_deg) {
  check_map_units(units, "direction map");
  MTMAP_CHECK(kernel == "gaussian" || kernel == "window", "smoothing kernel '{}' (need gaussian or window)", kernel);
  MTMAP_CHECK(width_mm > 0 && spacing_mm > 0, "smoothing width {} mm and grid spacing {} mm must be > 0", width_mm,
              spacing_mm);
  const auto [xmin, xmax] = std::minmax_element(units.x_mm.begin(), units.x_mm.end());
  const auto [ymin, ymax] = std::minmax_element(units.y_mm.begin(), units.y_mm.end());
  FieldGrid g;
  g.h = spacing_mm;
  g.x0 = *xmin, g.y0 = *ymin;
  g.nx = static_cast<int>(std::floor((*xmax - *xmin) / spacing_mm)) + 1;
  g.ny = static_cast<int>(std::floor((*ymax - *ymin) / spacing_mm)) + 1;
  MTMAP_CHECK(double(g.nx) * g.ny <= 1e8, "direction map grid {} × {} is too large: raise map.grid_spacing_mm", g.nx,
              g.ny);
  g.z.assign(size_t(g.nx) * g.ny, 0.0);
  g.coverage.assign(size_t(g.nx) * g.ny, 0.0);
  std::vector<std::complex<double>> num(g.z.size(), 0.0);
  const bool gauss = kernel == "gaussian";
  const double reach = gauss ? 4 * width_mm : width_mm / 2;
  const double harmonic = 360.0 / period_deg;
  for (size_t u = 0; u < units.size(); ++u) {
    const double ux = units.x_mm[u], uy = units.y_mm[u];
    const std::complex<double> phasor =
        units.weight[u] * std::polar(1.0, harmonic * units.theta_deg[u] * std::numbers::pi / 180.0);
    const int ix0 = std::max(0, static_cast<int>(std::ceil((ux - reach - g.x0) / g.h)));
    const int ix1 = std::min(g.nx - 1, static_cast<int>(std::floor((ux + reach - g.x0) / g.h)));
    const int iy0 = std::max(0, static_cast<int>(std::ceil((uy - reach - g.y0) / g.h)));
    const int iy1 = std::min(g.ny - 1, static_cast<int>(std::floor((uy + reach - g.y0) / g.h)));
    for (int iy = iy0; iy <= iy1; ++iy)
      for (int ix = ix0; ix <= ix1; ++ix) {
        const double dx = g.x(ix) - ux, dy = g.y(iy) - uy;
        const double k = gauss ? std::exp(-(dx * dx + dy * dy) / (2 * width_mm * width_mm)) : 1.0;
        num[g.at(ix, iy)] += k * phasor;
        g.coverage[g.at(ix, iy)] += k;
      }
  }
  for (size_t i = 0; i < g.z.size(); ++i)
    if (g.coverage[i] > 0) g.z[i] = num[i] / g.coverage[i];
  return g;
}

}  // namespace mtmap::analysis
