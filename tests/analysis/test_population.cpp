// The response-array entry point and the population results on synthetic responses with known
// tuning (docs/measurements.md §1–3).
#include <catch2/catch.hpp>

#include <cmath>

#include "analysis/responses.h"
#include "engine/core/error.h"
#include "tests/analysis/von_mises.h"

using namespace mtmap::analysis;
using namespace mtmap::analysis::testing;

namespace {

// Units × 16 directions × 3 SF × 2 TF × 4 phases. Unit u: grey baseline b_u; at (SF s, TF t) a
// von Mises of amplitude amp(s,t) (largest at the unit's best SF/TF) plus a phase modulation that
// averages to zero over the 4 phases.
struct Synthetic {
  ResponseArray r;
  std::vector<double> baseline;
};

Synthetic make_population(int n_selective, int n_flat, int n_dead, double kappa) {
  Synthetic s;
  auto& r = s.r;
  r.units = n_selective + n_flat + n_dead;
  r.directions = 16, r.sfs = 3, r.tfs = 2, r.phases = 4;
  r.values.resize(size_t(r.units) * 16 * 3 * 2 * 4);
  for (int u = 0; u < r.units; ++u) {
    const double base = 0.3 + 0.01 * u;
    s.baseline.push_back(base);
    const int best_s = u % 3, best_t = (u / 3) % 2;
    const double mu = 22.5 * ((u * 5) % 16);
    for (int d = 0; d < 16; ++d)
      for (int sf = 0; sf < 3; ++sf)
        for (int tf = 0; tf < 2; ++tf) {
          const double amp = (sf == best_s && tf == best_t) ? 2.0 : 0.5;
          double tuned = 0;
          if (u < n_selective) tuned = amp * vm(22.5 * d, mu, kappa);
          else if (u < n_selective + n_flat) tuned = amp;  // responsive, untuned
          for (int p = 0; p < 4; ++p)
            r.values[(((size_t(u) * 16 + d) * 3 + sf) * 2 + tf) * 4 + p] = base + tuned + 0.2 * std::cos(kPi / 2 * p);
        }
  }
  return s;
}

}  // namespace

TEST_CASE("Synthetic population: best SF/TF, fractions, medians and the PTC", "[analysis][population]") {
  const double kappa = 2.0;
  const auto s = make_population(30, 6, 4, kappa);
  const TuningResult t = analyze_responses(s.r, s.baseline, TuningConfig{});
  const auto& p = t.population;
  REQUIRE(p.n_units == 40);
  CHECK(p.n_responsive == 36);  // dead units peak at 0 after baseline subtraction
  CHECK(p.n_selective == 30);   // flat units have DSI 0
  CHECK(p.fraction_selective == Approx(30.0 / 40));
  CHECK(p.fraction_selective_of_responsive == Approx(30.0 / 36));
  for (int u = 0; u < 30; ++u) {
    INFO("unit " << u);
    CHECK(t.units[u].best_sf == u % 3);
    CHECK(t.units[u].best_tf == (u / 3) % 2);
    CHECK(t.units[u].peak_response == Approx(2.0));
    CHECK(t.units[u].preferred_direction_deg == Approx(22.5 * ((u * 5) % 16)).margin(1e-9));
  }
  const double dsi = (1 - std::exp(-2 * kappa)) / (1 + std::exp(-2 * kappa));
  CHECK(p.selective.dsi == Approx(dsi));
  CHECK(p.selective.cv_bandwidth_deg == Approx(vm_fwhm(kappa)).margin(1e-3));
  // Every selective unit has the same shape: the PTC is that shape, normalised.
  REQUIRE(p.ptc.size() == 16);
  for (int k = 0; k < 16; ++k) CHECK(p.ptc[k] == Approx(vm(22.5 * k, 0.0, kappa)));
  CHECK(p.ptc_a180 == Approx(std::exp(-2 * kappa)));
  CHECK(p.ptc_fwhm_deg == Approx(vm_fwhm(kappa)).margin(0.1));
}

TEST_CASE("Averaging over SF/TF and switching baseline subtraction off", "[analysis][population]") {
  const auto s = make_population(3, 0, 0, 2.0);
  TuningConfig avg;
  avg.sf_tf = "average";
  const TuningResult a = analyze_responses(s.r, s.baseline, avg);
  CHECK(a.units[0].best_sf == -1);
  CHECK(a.units[0].peak_response == Approx((2.0 + 5 * 0.5) / 6));
  TuningConfig raw;
  raw.subtract_baseline = false;
  const TuningResult b = analyze_responses(s.r, {}, raw);
  CHECK(b.units[1].peak_response == Approx(2.0 + 0.31));
  CHECK(b.units[1].null_response == Approx(2.0 * std::exp(-4.0) + 0.31));
}

TEST_CASE("Responsive rules: top fraction, absolute and median multiple", "[analysis][population]") {
  std::vector<UnitMetrics> units(8);
  for (int i = 0; i < 8; ++i) units[i].peak_response = i + 1, units[i].dsi = 0.5;
  TuningConfig cfg;
  cfg.responsive_rule = "top_fraction";
  cfg.responsive_threshold = 0.25;
  CHECK(classify_units(units, cfg) == 7.0);
  for (int i = 0; i < 8; ++i) CHECK(units[i].responsive == (i >= 6));
  cfg.responsive_rule = "absolute";
  cfg.responsive_threshold = 2.5;
  classify_units(units, cfg);
  for (int i = 0; i < 8; ++i) CHECK(units[i].selective == (i >= 2));
  cfg.responsive_rule = "median_multiple";
  cfg.responsive_threshold = 1.0;  // median of 1..8 is 4.5
  CHECK(classify_units(units, cfg) == 4.5);
  for (int i = 0; i < 8; ++i) CHECK(units[i].responsive == (i >= 4));
  cfg.dsi_threshold = 0.6;
  classify_units(units, cfg);
  for (const auto& u : units) CHECK_FALSE(u.selective);
}

TEST_CASE("Bad response arrays name the culprit", "[analysis][population]") {
  auto s = make_population(2, 0, 0, 2.0);
  CHECK_THROWS_WITH(analyze_responses(s.r, std::vector<double>(1, 0.0), TuningConfig{}),
                    Catch::Contains("grey-baseline array has 1 values for 2 units"));
  auto bad = s;
  bad.r.values[(((size_t(1) * 16 + 5) * 3 + 2) * 2 + 1) * 4 + 3] = NAN;
  CHECK_THROWS_WITH(analyze_responses(bad.r, bad.baseline, TuningConfig{}),
                    Catch::Contains("unit 1 at direction 5, SF 2, TF 1, phase 3"));
  bad = s;
  bad.baseline[1] = INFINITY;
  CHECK_THROWS_WITH(analyze_responses(bad.r, bad.baseline, TuningConfig{}), Catch::Contains("unit 1"));
  bad = s;
  bad.r.values.pop_back();
  CHECK_THROWS_WITH(analyze_responses(bad.r, bad.baseline, TuningConfig{}), Catch::Contains("holds"));
}
