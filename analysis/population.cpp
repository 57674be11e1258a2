// The PTC aligns each selective unit at its argmax sample (an integer rotation) so no interpolation
// blurs the curve; the preferred direction used for alignment is the same R_p as in the DSI.
#include "analysis/population.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "analysis/stats_util.h"
#include "engine/core/error.h"

namespace mtmap::analysis {
namespace {

MetricMedians medians_of(const std::vector<UnitMetrics>& units, bool UnitMetrics::*flag) {
  MetricMedians m;
  std::vector<double> dsi, di, cvd, cva, fw, cvbw;
  for (const auto& u : units) {
    if (!(u.*flag)) continue;
    ++m.count;
    dsi.push_back(u.dsi);
    di.push_back(u.di);
    cvd.push_back(u.cv_dir);
    cva.push_back(u.cv_ax);
    fw.push_back(u.fwhm_deg);
    cvbw.push_back(u.cv_bandwidth_deg);
  }
  m.dsi = median(dsi);
  m.di = median(di);
  m.cv_dir = median(cvd);
  m.cv_ax = median(cva);
  m.fwhm_deg = median(fw);
  m.cv_bandwidth_deg = median(cvbw);
  return m;
}

}  // namespace

double classify_units(std::vector<UnitMetrics>& units, const TuningConfig& cfg) {
  std::vector<double> peaks;
  for (const auto& u : units) peaks.push_back(u.peak_response);
  double threshold = 0;
  bool inclusive = false;
  if (cfg.responsive_rule == "absolute") {
    threshold = cfg.responsive_threshold;
  } else if (cfg.responsive_rule == "median_multiple") {
    threshold = cfg.responsive_threshold * median(peaks);
  } else {  // top_fraction: the peak of the last unit inside the top fraction
    std::sort(peaks.begin(), peaks.end(), std::greater<>());
    const auto count = static_cast<size_t>(std::llround(cfg.responsive_threshold * peaks.size()));
    threshold = count == 0 ? std::numeric_limits<double>::infinity() : peaks[count - 1];
    inclusive = true;
  }
  for (auto& u : units) {
    const bool above = inclusive ? u.peak_response >= threshold : u.peak_response > threshold;
    u.responsive = above && u.peak_response > 0;
    u.selective = u.responsive && std::isfinite(u.dsi) && u.dsi >= cfg.dsi_threshold;
  }
  return threshold;
}

PopulationResult population_result(std::span<const double> curves, int n, std::vector<UnitMetrics>& units,
                                   const TuningConfig& cfg) {
  MTMAP_CHECK(curves.size() == units.size() * size_t(n), "population_result: {} curve values for {} units × {} directions",
              curves.size(), units.size(), n);
  PopulationResult p;
  p.responsive_peak_threshold = classify_units(units, cfg);
  p.n_units = static_cast<int>(units.size());
  for (const auto& u : units) {
    p.n_responsive += u.responsive;
    p.n_selective += u.selective;
  }
  const double nu = std::max(1, p.n_units);
  p.fraction_responsive = p.n_responsive / nu;
  p.fraction_selective = p.n_selective / nu;
  p.fraction_selective_of_responsive =
      p.n_responsive ? double(p.n_selective) / p.n_responsive : std::numeric_limits<double>::quiet_NaN();
  p.selective = medians_of(units, &UnitMetrics::selective);
  p.responsive = medians_of(units, &UnitMetrics::responsive);

  p.ptc.assign(n, 0.0);
  for (size_t i = 0; i < units.size(); ++i) {
    if (!units[i].selective) continue;
    const double* c = curves.data() + i * n;
    const int ip = static_cast<int>(std::max_element(c, c + n) - c);
    for (int k = 0; k < n; ++k) p.ptc[k] += c[(ip + k) % n] / c[ip];
  }
  if (p.n_selective > 0) {
    for (double& v : p.ptc) v /= p.n_selective;
    p.ptc_fwhm_deg = fwhm_deg(p.ptc, cfg);
    p.ptc_a180 = p.ptc[n / 2] / p.ptc[0];
  } else {
    p.ptc.clear();
    p.ptc_fwhm_deg = p.ptc_a180 = std::numeric_limits<double>::quiet_NaN();
  }
  return p;
}

}  // namespace mtmap::analysis
