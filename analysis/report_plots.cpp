#include "analysis/report_plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>

#include "analysis/reference_values.h"
#include "analysis/stats_util.h"

namespace mtmap::analysis {

// The file formats this file writes or reads (formats/).
using formats::Plot;
using formats::Series;

namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double num(const json& j) { return j.is_number() ? j.get<double>() : kNaN; }

std::vector<double> nums(const json& j) {
  std::vector<double> v;
  if (j.is_array())
    for (const auto& x : j) v.push_back(num(x));
  return v;
}

// Histogram of the finite values of a column between lo and hi, as fractions.
Series histogram(const std::vector<double>& v, double lo, double hi, int bins, const std::string& colour,
                 const std::vector<double>* mask_values = nullptr) {
  Series s;
  s.style = Series::Style::bars;
  s.colour = colour;
  std::vector<double> count(bins, 0.0);
  double total = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (mask_values && !((*mask_values)[i] > 0.5)) continue;
    if (!std::isfinite(v[i])) continue;
    const int b = std::clamp(static_cast<int>((v[i] - lo) / (hi - lo) * bins), 0, bins - 1);
    count[b] += 1, total += 1;
  }
  for (int b = 0; b < bins; ++b) {
    s.x.push_back(lo + (b + 0.5) * (hi - lo) / bins);
    s.y.push_back(total > 0 ? count[b] / total : 0);
  }
  return s;
}

}  // namespace

Plot ptc_plot(const json& t) {
  Plot p;
  p.title = "Population tuning curve (selective units)";
  p.xlabel = "direction relative to preferred (deg)";
  p.ylabel = "normalised response";
  const auto ptc = nums(t.value("ptc", json::array()));
  Series s;
  s.label = fmt::format("model: FWHM {:.0f}°, A180 {:.2f}", num(t.value("ptc_fwhm_deg", json())),
                        num(t.value("ptc_a180", json())));
  const int n = static_cast<int>(ptc.size());
  // Centre the preferred direction: −180 … +180.
  for (int k = 0; k <= n; ++k) {
    const int idx = ((k - n / 2) % n + n) % n;
    s.x.push_back(360.0 * (k - n / 2) / std::max(n, 1));
    s.y.push_back(n ? ptc[idx] : kNaN);
  }
  p.series.push_back(s);
  p.refs.push_back({macaque::ptc_a180, "macaque PTC(180°) ≈ 0 (Rodman & Albright 1987)"});
  p.xmin = -180, p.xmax = 180;
  return p;
}

Plot fwhm_scatter_plot(const Table& units) {
  Plot p;
  p.title = "FWHM versus CV-derived bandwidth (selective units)";
  p.xlabel = "CV-derived bandwidth (deg)";
  p.ylabel = "FWHM (deg)";
  p.diagonal = true;
  Series s;
  s.style = Series::Style::scatter;
  const auto* x = units.find("cv_bandwidth_deg");
  const auto* y = units.find("fwhm_deg");
  const auto* sel = units.find("selective");
  if (x && y)
    for (size_t i = 0; i < units.rows(); ++i)
      if (!sel || (*sel)[i] > 0.5) s.x.push_back((*x)[i]), s.y.push_back((*y)[i]);
  p.series.push_back(s);
  p.refs.push_back({macaque::fwhm_albright_deg, "83° (Albright 1984)"});
  p.bands.push_back({macaque::fwhm_britten_low_deg, macaque::fwhm_britten_high_deg, "90–100° (Britten & Newsome 1998)"});
  p.refs.push_back({macaque::fwhm_sigma_deg, "108° (σ 0.80 rad)"});
  p.xmin = 0, p.xmax = 360, p.ymin = 0, p.ymax = 360;
  return p;
}

Plot unit_histogram(const Table& units, const std::string& column) {
  Plot p;
  const auto* v = units.find(column);
  const auto* sel = units.find("responsive");
  std::vector<double> values = v ? *v : std::vector<double>{};
  double lo = 0, hi = 1;
  p.xlabel = column;
  p.ylabel = "fraction of responsive units";
  if (column == "dsi") {
    p.title = "DSI = (Rp − Rn)/(Rp + Rn)";
    hi = 1.2;
    p.refs.push_back({macaque::dsi_low, "0.8–1.0 by conversion", true});
    p.refs.push_back({macaque::dsi_v3a_mean, "V3A mean 0.41 (Gaska et al. 1988)", true});
  } else if (column == "di") {
    p.title = "DI = 1 − Rn/Rp";
    hi = 1.5;
    p.refs.push_back({macaque::di_median_low, "median 0.9–1.0 (Maunsell & Van Essen 1983; Albright 1984)", true});
  } else if (column == "cv_dir") {
    p.title = "Direction circular variance";
    p.refs.push_back({macaque::cv_low, "0.15–0.30 (derived)", true});
    p.refs.push_back({macaque::cv_high, "", true});
  } else {
    p.title = column == "fwhm_deg" ? "FWHM bandwidth" : "CV-derived bandwidth";
    hi = 360;
    p.refs.push_back({macaque::fwhm_albright_deg, "83° (Albright 1984)", true});
    p.refs.push_back({macaque::fwhm_sigma_deg, "108° (σ 0.80 rad)", true});
  }
  p.series.push_back(histogram(values, lo, hi, 24, "#1f77b4", sel && sel->size() == values.size() ? sel : nullptr));
  p.xmin = lo, p.xmax = hi;
  return p;
}

Plot delta_plot(const json& m) {
  Plot p;
  const json& d = m.value("delta_histogram", json::object());
  p.title = "Δ preferred direction, nearest neighbours";
  p.xlabel = "|Δ| (deg)";
  p.ylabel = "fraction of pairs";
  const auto edges = nums(d.value("edges_deg", json::array()));
  Series real, shuf;
  real.label = fmt::format("map (mean {:.0f}°)", num(d.value("mean_delta_deg", json())));
  shuf.label = fmt::format("shuffled positions (mean {:.0f}°)", num(d.value("mean_delta_shuffled_deg", json())));
  real.style = Series::Style::bars;
  shuf.style = Series::Style::steps;
  shuf.colour = "#d62728";
  const auto f = nums(d.value("fraction", json::array())), fs = nums(d.value("fraction_shuffled", json::array()));
  for (size_t b = 0; b + 1 < edges.size() && b < f.size(); ++b) {
    const double c = 0.5 * (edges[b] + edges[b + 1]);
    real.x.push_back(c), real.y.push_back(f[b]);
    if (b < fs.size()) shuf.x.push_back(c), shuf.y.push_back(fs[b]);
  }
  p.series = {real, shuf};
  p.ymin = 0;
  return p;
}

Plot smoothness_plot(const json& m) {
  Plot p;
  const json& s = m.value("smoothness", json::object());
  p.title = "Smoothness: mean |Δ| versus cortical distance";
  p.xlabel = "distance (mm)";
  p.ylabel = "mean |Δ| (deg)";
  Series real, shuf;
  real.label = "map";
  shuf.label = "shuffled positions";
  shuf.colour = "#d62728";
  real.x = shuf.x = nums(s.value("distance_mm", json::array()));
  real.y = nums(s.value("mean_delta_deg", json::array()));
  shuf.y = nums(s.value("mean_delta_shuffled_deg", json::array()));
  p.series = {real, shuf};
  p.ymin = 0;
  return p;
}

Plot density_width_plot(const json& m) {
  Plot p;
  p.title = "Pinwheel density versus smoothing width";
  p.xlabel = "smoothing width (mm)";
  p.ylabel = "pinwheels / mm²";
  Series s;
  s.label = "model";
  for (const auto& d : m.value("density_vs_width", json::array()))
    s.x.push_back(num(d.value("width_mm", json()))), s.y.push_back(num(d.value("density_per_mm2", json())));
  p.series.push_back(s);
  p.refs.push_back({macaque::pinwheel_density_per_mm2, "4.9 /mm² (Kaschube et al. 2010; Diogo et al. 2003)"});
  p.bands.push_back({macaque::pinwheel_density_low, macaque::pinwheel_density_high, "1.6–6.4 /mm² for Λ = 0.7–1.4 mm"});
  p.ymin = 0;
  return p;
}

Plot spectrum_plot(const json& m) {
  Plot p;
  const json& c = m.value("column_spacing", json::object());
  p.title = fmt::format("Radial power spectrum of z (Λ = {:.3g} mm)", num(c.value("lambda_mm", json())));
  p.xlabel = "spatial frequency (cycles/mm)";
  p.ylabel = "power (normalised)";
  Series s;
  s.style = Series::Style::steps;
  s.x = nums(c.value("k_cyc_per_mm", json::array()));
  s.y = nums(c.value("power", json::array()));
  p.series.push_back(s);
  const double kp = num(c.value("k_peak_cyc_per_mm", json()));
  if (std::isfinite(kp)) p.refs.push_back({kp, "peak", true});
  p.ymin = 0;
  return p;
}

std::string directions_svg(int n) {
  std::string s =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"260\" height=\"260\" viewBox=\"-130 -130 260 260\" "
      "font-family=\"sans-serif\" font-size=\"10\"><rect x=\"-130\" y=\"-130\" width=\"260\" height=\"260\" "
      "fill=\"white\"/>\n";
  for (int k = 0; k < n; ++k) {
    const double a = 2 * std::numbers::pi * k / n;
    const double c = std::cos(a), d = -std::sin(a);  // counter-clockwise on screen
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#333\" stroke-width=\"2\"/>"
                     "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"#333\"/>"
                     "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g}</text>\n",
                     20 * c, 20 * d, 90 * c, 90 * d, 90 * c, 90 * d, 110 * c, 110 * d + 3, 360.0 * k / n);
  }
  return s + "</svg>\n";
}

const std::vector<SweepMetric>& sweep_metrics() {
  static const std::vector<SweepMetric> m = {
      {"tuning.fraction_selective", "Selective-unit fraction (Fig. 2C)", "fraction of units"},
      {"tuning.selective_medians.fwhm_deg", "Median FWHM bandwidth (Fig. 2D)", "deg"},
      {"tuning.selective_medians.cv_dir", "Median direction CV (Fig. 2E)", "CV"},
      {"tuning.selective_medians.dsi", "Median DSI (Fig. 2F)", "DSI"},
      {"tuning.ptc_a180", "PTC axial ratio A180", "PTC(180°)/PTC(0°)"},
      {"map.pinwheels.density_per_mm2", "Pinwheel density (Fig. 4B)", "pinwheels / mm²"},
      {"map.pinwheels.density_per_lambda2", "Pinwheels per Λ²", "ρ"},
  };
  return m;
}

double metric_at(const json& metrics, const std::string& key) {
  const json* j = &metrics;
  size_t start = 0;
  while (start <= key.size()) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!j->is_object() || !j->contains(part)) return kNaN;
    j = &(*j)[part];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return num(*j);
}

namespace {

// The macaque reference values drawn on a metric-versus-α panel.
void add_sweep_refs(Plot& p, const std::string& key) {
  if (key == "tuning.fraction_selective")
    p.bands.push_back({macaque::fraction_ds_low, macaque::fraction_ds_high, "80–95 % (Movshon & Newsome 1992; Albright 1984)"});
  else if (key == "tuning.selective_medians.fwhm_deg") {
    p.refs.push_back({macaque::fwhm_albright_deg, "83° (Albright 1984)"});
    p.bands.push_back({macaque::fwhm_britten_low_deg, macaque::fwhm_britten_high_deg, "90–100° (Britten & Newsome 1998)"});
    p.refs.push_back({macaque::fwhm_sigma_deg, "108° (σ 0.80 rad)"});
  } else if (key == "tuning.selective_medians.cv_dir")
    p.bands.push_back({macaque::cv_low, macaque::cv_high, "0.15–0.30 (derived from bandwidth)"});
  else if (key == "tuning.selective_medians.dsi") {
    p.bands.push_back({macaque::dsi_low, macaque::dsi_high, "0.8–1.0 by conversion"});
    p.refs.push_back({macaque::dsi_v3a_mean, "V3A mean 0.41 (Gaska et al. 1988)"});
  } else if (key == "tuning.ptc_a180")
    p.refs.push_back({macaque::ptc_a180, "≈ 0 (Rodman & Albright 1987)"});
  else if (key == "map.pinwheels.density_per_mm2")
    p.refs.push_back({macaque::pinwheel_density_per_mm2, "4.9 /mm² (Kaschube et al. 2010; Diogo et al. 2003)"});
  else if (key == "map.pinwheels.density_per_lambda2")
    p.refs.push_back({macaque::rho_v1, "π: V1 orientation maps (Kaschube et al. 2010)"});
}

Plot sweep_frame(const SweepMetric& m) {
  Plot p;
  p.title = m.title;
  p.xlabel = "α (spatial-loss weight)";
  p.ylabel = m.ylabel;
  return p;
}

int objective_rank(const std::string& o) {
  if (o == "joint") return 0;
  if (o == "contrastive") return 1;
  if (o == "spatial") return 2;
  return o.empty() ? 4 : 3;
}

std::string run_objective(const json& r) {
  const json* run = &r;
  for (const char* k : {"config", "run"}) {
    if (!run->is_object() || !run->contains(k)) return "";
    run = &(*run)[k];
  }
  const auto it = run->find("objective");
  return it != run->end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Plot sweep_plot(const std::vector<json>& runs, const SweepMetric& m) {
  Plot p = sweep_frame(m);
  std::map<double, std::vector<double>> by_alpha;
  for (const auto& r : runs) {
    const double a = metric_at(r, "config.run.alpha");
    if (std::isfinite(a)) by_alpha[a].push_back(metric_at(r, m.key));
  }
  Series s;
  s.label = "mean over seeds, 95 % CI";
  for (const auto& [a, v] : by_alpha) {
    s.x.push_back(a);
    s.y.push_back(mean(v));
    s.err.push_back(ci95_half_width(v));
  }
  p.series.push_back(s);
  add_sweep_refs(p, m.key);
  return p;
}

std::vector<Condition> group_conditions(const std::vector<json>& runs) {
  std::vector<Condition> out;
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string o = run_objective(runs[i]);
    const double a = metric_at(runs[i], "config.run.alpha");
    auto same = [&](const Condition& c) {
      return c.objective == o && ((std::isnan(a) && std::isnan(c.alpha)) || c.alpha == a);
    };
    auto it = std::find_if(out.begin(), out.end(), same);
    if (it == out.end()) out.push_back({o, a, {}}), it = out.end() - 1;
    it->runs.push_back(i);
  }
  std::sort(out.begin(), out.end(), [](const Condition& x, const Condition& y) {
    const int rx = objective_rank(x.objective), ry = objective_rank(y.objective);
    if (rx != ry) return rx < ry;
    if (x.objective != y.objective) return x.objective < y.objective;
    if (std::isnan(x.alpha) || std::isnan(y.alpha)) return !std::isnan(x.alpha) && std::isnan(y.alpha);
    return x.alpha < y.alpha;
  });
  return out;
}

ConditionStat condition_stat(const std::vector<json>& runs, const Condition& c, const std::string& key) {
  std::vector<double> v;
  for (size_t i : c.runs) v.push_back(metric_at(runs[i], key));
  ConditionStat s;
  for (double x : v) s.n += std::isfinite(x) ? 1 : 0;
  s.mean = mean(v);  // the same two functions as the panels (NaN-aware)
  s.ci95_half = ci95_half_width(v);
  return s;
}

Plot sweep_plot_by_objective(const std::vector<json>& runs, const SweepMetric& m) {
  const auto conditions = group_conditions(runs);
  std::vector<std::string> objectives;
  for (const auto& c : conditions)
    if (std::find(objectives.begin(), objectives.end(), c.objective) == objectives.end()) objectives.push_back(c.objective);
  if (objectives.size() < 2) return sweep_plot(runs, m);
  static const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  Plot p = sweep_frame(m);
  for (size_t k = 0; k < objectives.size(); ++k) {
    Series s;
    s.label = (objectives[k].empty() ? std::string("no objective") : objectives[k]) + ": mean over seeds, 95 % CI";
    s.colour = colours[k % 8];
    for (const auto& c : conditions) {
      if (c.objective != objectives[k] || !std::isfinite(c.alpha)) continue;
      const ConditionStat st = condition_stat(runs, c, m.key);
      s.x.push_back(c.alpha), s.y.push_back(st.mean), s.err.push_back(st.ci95_half);
    }
    if (!s.x.empty()) p.series.push_back(s);
  }
  add_sweep_refs(p, m.key);
  return p;
}

}  // namespace mtmap::analysis
