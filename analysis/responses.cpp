#include "analysis/responses.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace mtmap::analysis {

TuningResult analyze_responses(const ResponseArray& r, std::span<const double> baseline, const TuningConfig& cfg) {
  MTMAP_CHECK(r.units > 0 && r.directions > 0 && r.sfs > 0 && r.tfs > 0 && r.phases > 0,
              "response array has shape ({}, {}, {}, {}, {}); every axis (units, directions, SF, TF, phases) must be "
              "non-empty",
              r.units, r.directions, r.sfs, r.tfs, r.phases);
  const size_t expected = size_t(r.units) * r.directions * r.sfs * r.tfs * r.phases;
  MTMAP_CHECK(r.values.size() == expected, "response array holds {} values, shape ({}, {}, {}, {}, {}) needs {}",
              r.values.size(), r.units, r.directions, r.sfs, r.tfs, r.phases, expected);
  MTMAP_CHECK(!cfg.subtract_baseline || baseline.size() == size_t(r.units),
              "baseline subtraction is on but the grey-baseline array has {} values for {} units", baseline.size(),
              r.units);
  for (size_t i = 0; i < r.values.size(); ++i)
    if (!std::isfinite(r.values[i])) {
      size_t rest = i;
      const int p = rest % r.phases;
      rest /= r.phases;
      const int t = rest % r.tfs;
      rest /= r.tfs;
      const int s = rest % r.sfs;
      rest /= r.sfs;
      const int d = rest % r.directions;
      MTMAP_FAIL("response of unit {} at direction {}, SF {}, TF {}, phase {} is {}", rest / r.directions, d, s, t, p,
                 r.values[i]);
    }
  for (size_t u = 0; u < baseline.size(); ++u)
    MTMAP_CHECK(std::isfinite(baseline[u]), "grey-baseline response of unit {} is {}", u, baseline[u]);

  TuningResult out;
  const int nd = r.directions;
  out.n_directions = nd;
  out.curves.assign(size_t(r.units) * nd, 0.0);
  out.units.reserve(r.units);
  std::vector<double> curve(nd);
  for (int u = 0; u < r.units; ++u) {
    const double base = cfg.subtract_baseline ? baseline[u] : 0.0;
    // Phase-averaged curve for one (SF, TF) combination.
    auto curve_at = [&](int s, int t, std::vector<double>& c) {
      for (int d = 0; d < nd; ++d) {
        double acc = 0;
        for (int p = 0; p < r.phases; ++p) acc += r.at(u, d, s, t, p);
        c[d] = acc / r.phases - base;
      }
    };
    int best_s = -1, best_t = -1;
    if (cfg.sf_tf == "best") {
      double best_peak = -INFINITY;
      std::vector<double> c(nd);
      for (int s = 0; s < r.sfs; ++s)
        for (int t = 0; t < r.tfs; ++t) {
          curve_at(s, t, c);
          const double peak = *std::max_element(c.begin(), c.end());
          if (peak > best_peak) best_peak = peak, best_s = s, best_t = t, curve = c;
        }
    } else {
      std::fill(curve.begin(), curve.end(), 0.0);
      std::vector<double> c(nd);
      for (int s = 0; s < r.sfs; ++s)
        for (int t = 0; t < r.tfs; ++t) {
          curve_at(s, t, c);
          for (int d = 0; d < nd; ++d) curve[d] += c[d] / (r.sfs * r.tfs);
        }
    }
    UnitMetrics m = tuning_metrics(curve, cfg);
    m.best_sf = best_s;
    m.best_tf = best_t;
    out.units.push_back(m);
    std::copy(curve.begin(), curve.end(), out.curves.begin() + size_t(u) * nd);
  }
  out.population = population_result(out.curves, nd, out.units, cfg);
  return out;
}

}  // namespace mtmap::analysis
