// The map half end to end on unit tables built from known maps (docs/measurements.md §4–6).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "analysis/map_analysis.h"
#include "engine/core/error.h"
#include "tests/analysis/planted_maps.h"

using namespace mtmap::analysis;
using namespace mtmap::analysis::testing;

namespace {

// Units on a jittered square lattice (spacing s mm, side L mm) whose preferred direction is
// arg f(x, y) · period/360.
template <typename F>
MapUnits lattice_units(F f, double side, double s, double period, double jitter = 0.3, unsigned seed = 5) {
  MapUnits u;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> j(-jitter * s, jitter * s);
  const int n = static_cast<int>(std::lround(side / s)) + 1;
  for (int iy = 0; iy < n; ++iy)
    for (int ix = 0; ix < n; ++ix) {
      const double x = ix * s + j(rng), y = iy * s + j(rng);
      u.x_mm.push_back(x);
      u.y_mm.push_back(y);
      u.theta_deg.push_back(std::arg(f(x, y)) * 180 / std::numbers::pi * period / 360.0);
      u.weight.push_back(1.0);
    }
  return u;
}

const std::vector<Planted> kPlanted = {{1.03, 1.07, +1}, {2.91, 1.21, -1}, {1.52, 2.88, -1}, {3.02, 3.13, +1}};

}  // namespace

TEST_CASE("Units sampled from planted pinwheels: smoothing then detection finds each one", "[analysis][map]") {
  for (double period : {360.0, 180.0}) {
    const MapUnits u = lattice_units([](double x, double y) { return planted_field(x, y, kPlanted); }, 4.0, 0.04, period);
    AnalysisConfig cfg;
    cfg.map.smoothing_width_mm = 0.08;
    cfg.map.grid_spacing_mm = 0.04;
    cfg.map.period_deg = period;
    cfg.map.density_widths_mm = {0.08, 0.16};
    cfg.stats.smoothness_sample_units = 200;
    const MapResult r = analyze_map(u, cfg);
    INFO("period " << period);
    REQUIRE(r.pinwheels.pinwheels.size() == kPlanted.size());
    for (const auto& p : kPlanted) {
      int hits = 0;
      for (const auto& f : r.pinwheels.pinwheels)
        if (std::hypot(f.x_mm - p.x, f.y_mm - p.y) < 0.1 && f.charge == p.charge * period / 360.0) ++hits;
      CHECK(hits == 1);
    }
    CHECK(r.pinwheels.matched == 4);
    CHECK(r.density_vs_width.size() == 2);
    CHECK(r.density_vs_width[0].n_positive + r.density_vs_width[0].n_negative == 4);
  }
}

TEST_CASE("Smoothing averages z, not angles, the window kernel finds the planted pinwheels too", "[analysis][map]") {
  // Two units at 350° and 10° average to 0° (averaging the angles would give 180°); weights scale |z|.
  MapUnits two;
  two.x_mm = {0.0, 0.0, 1.0}, two.y_mm = {0.0, 0.0, 1.0}, two.theta_deg = {350.0, 10.0, 10.0};
  two.weight = {0.5, 0.5, 0.5};
  const FieldGrid g = smooth_field(two, "gaussian", 0.05, 0.5, 360.0);
  REQUIRE(g.nx == 3);
  CHECK(field_angle_deg(g.z[g.at(0, 0)], 360.0) == Approx(0.0).margin(1e-9));
  CHECK(std::abs(g.z[g.at(0, 0)]) == Approx(0.5 * std::cos(10 * std::numbers::pi / 180)).epsilon(1e-6));
  CHECK(g.coverage[g.at(2, 0)] == 0.0);  // 1 mm from every unit: beyond the 4σ reach

  const MapUnits u = lattice_units([](double x, double y) { return planted_field(x, y, kPlanted); }, 4.0, 0.04, 360.0);
  AnalysisConfig cfg;
  cfg.map.kernel = "window";
  cfg.map.smoothing_width_mm = 0.16;
  cfg.map.grid_spacing_mm = 0.04;
  cfg.map.density_widths_mm = {};
  cfg.stats.smoothness_sample_units = 100;
  const MapResult r = analyze_map(u, cfg);
  CHECK(r.pinwheels.n_positive == 2);
  CHECK(r.pinwheels.n_negative == 2);
  for (const auto& p : kPlanted) {
    int hits = 0;
    for (const auto& f : r.pinwheels.pinwheels)
      if (std::hypot(f.x_mm - p.x, f.y_mm - p.y) < 0.1 && f.charge == p.charge) ++hits;
    CHECK(hits == 1);
  }
}

TEST_CASE("Units sampled from a periodic map give Λ back", "[analysis][map]") {
  const double lambda = 0.9;
  const MapUnits u = lattice_units(random_waves(30, lambda, 3), 7.0, 0.035, 360.0);
  AnalysisConfig cfg;
  cfg.map.smoothing_width_mm = 0.05;
  cfg.map.density_widths_mm = {};
  cfg.stats.smoothness_sample_units = 100;
  const MapResult r = analyze_map(u, cfg);
  CHECK(r.spectrum.lambda_mm == Approx(lambda).epsilon(0.04));
  CHECK(r.density_per_lambda2 ==
        Approx((r.pinwheels.n_positive + r.pinwheels.n_negative) * r.spectrum.lambda_mm * r.spectrum.lambda_mm /
               r.pinwheels.analysed_area_mm2));
}

TEST_CASE("Δ histogram and smoothness of a linear direction gradient", "[analysis][map]") {
  // θ = 360°·x/L on an exact lattice of spacing s: the 4 nearest neighbours of an interior unit are
  // 2 along x (|Δ| = 360 s/L) and 2 along y (Δ = 0).
  const double side = 3.0, s = 0.05, grad_L = 3.0;  // θ covers the circle once across the sheet
  MapUnits u;
  const int n = static_cast<int>(std::lround(side / s)) + 1;
  for (int iy = 0; iy < n; ++iy)
    for (int ix = 0; ix < n; ++ix) {
      u.x_mm.push_back(ix * s), u.y_mm.push_back(iy * s);
      u.theta_deg.push_back(360.0 * ix * s / grad_L), u.weight.push_back(1.0);
    }
  StatsConfig cfg;
  cfg.delta_neighbours = 4;
  const DeltaHistogram h = delta_histogram(u, cfg, 360.0);
  const double step = 360.0 * s / grad_L;  // 6°
  CHECK(h.mean_delta_deg == Approx(step / 2).epsilon(0.05));  // edge units bend it slightly
  CHECK(h.fraction[0] > 0.95);

  // Pairs at distance d in random orientation: E|Δ| = (360/L)·d·E|cos φ| = (360/L)·d·2/π, and the
  // pair-weighted mean distance in the bin [a, b] is (2/3)(b³ − a³)/(b² − a²). A jittered lattice
  // makes the pair orientations close to isotropic.
  const MapUnits j = lattice_units([&](double x, double) { return std::polar(1.0, 2 * std::numbers::pi * x / grad_L); },
                                   side, s, 360.0, 0.5);
  // Shuffled directions (uniform over the circle: θ spans 360° once, continuously on the jittered
  // lattice): |Δ| uniform on [0, 180], mean 90°, flat histogram.
  const DeltaHistogram hj = delta_histogram(j, cfg, 360.0);
  CHECK(hj.mean_delta_shuffled_deg == Approx(90.0).epsilon(0.03));
  for (double f : hj.fraction_shuffled) CHECK(f == Approx(1.0 / cfg.delta_bins).epsilon(0.1));
  cfg.smoothness_max_distance_mm = 0.5;
  cfg.smoothness_bins = 5;
  cfg.smoothness_sample_units = 600;
  const SmoothnessCurve c = smoothness(j, cfg, 360.0);
  for (int b = 1; b < 5; ++b) {
    const double a = 0.1 * b, e = 0.1 * (b + 1);
    const double dbar = (2.0 / 3) * (e * e * e - a * a * a) / (e * e - a * a);
    const double expected = 360.0 / grad_L * dbar * 2 / std::numbers::pi;
    INFO("bin " << b);
    CHECK(c.mean_delta_deg[b] == Approx(expected).epsilon(0.05));
    CHECK(c.ratio[b] == Approx(expected / 90.0).epsilon(0.08));  // shuffled: E|Δ| = 90°
  }
}

TEST_CASE("Map input errors name the unit", "[analysis][map]") {
  MapUnits u;
  CHECK_THROWS_WITH(analyze_map(u, AnalysisConfig{}), Catch::Contains("empty"));
  u = lattice_units([](double x, double) { return std::polar(1.0, x); }, 1.0, 0.1, 360.0);
  u.theta_deg[7] = NAN;
  CHECK_THROWS_WITH(analyze_map(u, AnalysisConfig{}), Catch::Contains("unit 7 has preferred direction nan"));
  u.theta_deg[7] = 0, u.weight[3] = -1;
  CHECK_THROWS_WITH(analyze_map(u, AnalysisConfig{}), Catch::Contains("unit 3 has weight -1"));
  u.weight[3] = 1;
  AnalysisConfig wide;
  wide.map.smoothing_width_mm = 0.6;
  CHECK_THROWS_WITH(analyze_map(u, wide), Catch::Contains("nothing is left inside a border"));
}
