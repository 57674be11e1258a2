#include "analysis/map_analysis.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/error.h"

namespace mtmap::analysis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Pinwheels and Λ at one smoothing width; the border excluded is one smoothing width wide.
struct WidthResult {
  FieldGrid grid;
  PinwheelResult pinwheels;
  SpectrumResult spectrum;
  std::string spectrum_error;
};

WidthResult at_width(const MapUnits& units, const MapConfig& m, double width) {
  WidthResult w;
  w.grid = smooth_field(units, m.kernel, width, m.grid_spacing_mm, m.period_deg);
  w.pinwheels = find_pinwheels(w.grid, m.period_deg, m.mask_fraction, width, m.zero_crossing_match_mm);
  try {
    w.spectrum = power_spectrum(w.grid, width);
  } catch (const Error& e) {
    w.spectrum_error = e.what();
    w.spectrum.lambda_mm = w.spectrum.k_peak_cyc_per_mm = kNaN;
  }
  return w;
}

double rho(const PinwheelResult& p, double lambda) {
  if (!(p.analysed_area_mm2 > 0) || !std::isfinite(lambda)) return kNaN;
  return (p.n_positive + p.n_negative) * lambda * lambda / p.analysed_area_mm2;
}

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json vec_json(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(finite_or_null(x));
  return a;
}

nlohmann::json pinwheel_list(const std::vector<Pinwheel>& ps) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& p : ps) a.push_back({p.x_mm, p.y_mm, p.charge});
  return a;
}

}  // namespace

MapResult analyze_map(const MapUnits& units, const AnalysisConfig& cfg) {
  check_map_units(units, "map analysis");
  MapResult r;
  r.n_units = static_cast<int>(units.size());
  const auto [xa, xb] = std::minmax_element(units.x_mm.begin(), units.x_mm.end());
  const auto [ya, yb] = std::minmax_element(units.y_mm.begin(), units.y_mm.end());
  r.extent_x_mm = *xb - *xa, r.extent_y_mm = *yb - *ya;
  MTMAP_CHECK(r.extent_x_mm > 2 * cfg.map.smoothing_width_mm && r.extent_y_mm > 2 * cfg.map.smoothing_width_mm,
              "the units span {:.3g} × {:.3g} mm: nothing is left inside a border one smoothing width ({} mm) wide",
              r.extent_x_mm, r.extent_y_mm, cfg.map.smoothing_width_mm);
  WidthResult main = at_width(units, cfg.map, cfg.map.smoothing_width_mm);
  r.grid = std::move(main.grid);
  r.pinwheels = main.pinwheels;
  r.spectrum = main.spectrum;
  r.spectrum_error = main.spectrum_error;
  r.density_per_lambda2 = rho(r.pinwheels, r.spectrum.lambda_mm);
  for (double w : cfg.map.density_widths_mm) {
    DensityPoint d;
    d.width_mm = w;
    if (r.extent_x_mm > 2 * w && r.extent_y_mm > 2 * w) {
      const WidthResult wr = at_width(units, cfg.map, w);
      d.n_positive = wr.pinwheels.n_positive, d.n_negative = wr.pinwheels.n_negative;
      d.area_mm2 = wr.pinwheels.analysed_area_mm2;
      d.density_per_mm2 = wr.pinwheels.density_per_mm2;
      d.lambda_mm = wr.spectrum.lambda_mm;
      d.density_per_lambda2 = rho(wr.pinwheels, d.lambda_mm);
    } else {
      d.area_mm2 = d.density_per_mm2 = d.lambda_mm = d.density_per_lambda2 = kNaN;
    }
    r.density_vs_width.push_back(d);
  }
  r.delta = delta_histogram(units, cfg.stats, cfg.map.period_deg);
  r.smooth = smoothness(units, cfg.stats, cfg.map.period_deg);
  return r;
}

nlohmann::json map_result_json(const MapResult& r) {
  using nlohmann::json;
  const auto& p = r.pinwheels;
  json j;
  j["n_units"] = r.n_units;
  j["extent_mm"] = {r.extent_x_mm, r.extent_y_mm};
  j["grid"] = {{"nx", r.grid.nx}, {"ny", r.grid.ny}, {"x0_mm", r.grid.x0}, {"y0_mm", r.grid.y0}, {"spacing_mm", r.grid.h}};
  j["pinwheels"] = {{"method", "closed 2x2 plaquette winding, steps wrapped into (-pi, pi]"},
                    {"n_positive", p.n_positive},
                    {"n_negative", p.n_negative},
                    {"n_total", p.n_positive + p.n_negative},
                    {"analysed_area_mm2", p.analysed_area_mm2},
                    {"border_mm", p.border_mm},
                    {"magnitude_threshold", p.magnitude_threshold},
                    {"density_per_mm2", finite_or_null(p.density_per_mm2)},
                    {"density_per_lambda2", finite_or_null(r.density_per_lambda2)},
                    {"zero_crossing_check",
                     {{"n_positive", p.zc_positive},
                      {"n_negative", p.zc_negative},
                      {"matched_to_plaquette", p.matched}}},
                    {"positions_mm_charge", pinwheel_list(p.pinwheels)}};
  j["column_spacing"] = {{"method", "peak of the radially averaged power spectrum of z (Hann window, 4x zero padding)"},
                         {"lambda_mm", finite_or_null(r.spectrum.lambda_mm)},
                         {"k_peak_cyc_per_mm", finite_or_null(r.spectrum.k_peak_cyc_per_mm)},
                         {"k_min_searched_cyc_per_mm", r.spectrum.k_min_cyc_per_mm},
                         {"k_cyc_per_mm", vec_json(r.spectrum.k_cyc_per_mm)},
                         {"power", vec_json(r.spectrum.power)}};
  if (!r.spectrum_error.empty()) j["column_spacing"]["error"] = r.spectrum_error;
  json dw = json::array();
  for (const auto& d : r.density_vs_width)
    dw.push_back({{"width_mm", d.width_mm},
                  {"n_positive", d.n_positive},
                  {"n_negative", d.n_negative},
                  {"area_mm2", finite_or_null(d.area_mm2)},
                  {"density_per_mm2", finite_or_null(d.density_per_mm2)},
                  {"lambda_mm", finite_or_null(d.lambda_mm)},
                  {"density_per_lambda2", finite_or_null(d.density_per_lambda2)}});
  j["density_vs_width"] = dw;
  j["delta_histogram"] = {{"edges_deg", r.delta.edges_deg},
                          {"fraction", r.delta.fraction},
                          {"fraction_shuffled", r.delta.fraction_shuffled},
                          {"mean_delta_deg", r.delta.mean_delta_deg},
                          {"mean_delta_shuffled_deg", r.delta.mean_delta_shuffled_deg},
                          {"pairs", r.delta.pairs}};
  j["smoothness"] = {{"distance_mm", r.smooth.distance_mm},
                     {"mean_delta_deg", vec_json(r.smooth.mean_delta_deg)},
                     {"mean_delta_shuffled_deg", vec_json(r.smooth.mean_delta_shuffled_deg)},
                     {"ratio", vec_json(r.smooth.ratio)},
                     {"pairs", r.smooth.pairs},
                     {"reference_units", r.smooth.reference_units}};
  return j;
}

}  // namespace mtmap::analysis
