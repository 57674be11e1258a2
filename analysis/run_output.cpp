#include "analysis/run_output.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "analysis/map_figures.h"
#include "formats/atomic_file.h"
#include "formats/npy.h"
#include "formats/png_image.h"
#include "analysis/report_plots.h"
#include "engine/core/error.h"

namespace mtmap::analysis {

// The file formats this file writes or reads (formats/).
using formats::render_svg;
using formats::write_npy;
using formats::write_png;

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json medians_json(const MetricMedians& m) {
  return {{"count", m.count},
          {"dsi", finite_or_null(m.dsi)},
          {"di", finite_or_null(m.di)},
          {"cv_dir", finite_or_null(m.cv_dir)},
          {"cv_ax", finite_or_null(m.cv_ax)},
          {"fwhm_deg", finite_or_null(m.fwhm_deg)},
          {"cv_bandwidth_deg", finite_or_null(m.cv_bandwidth_deg)}};
}

void write_text(const fs::path& p, const std::string& s) { formats::write_file_atomic(p.string(), s); }

}  // namespace

json tuning_result_json(const TuningResult& t) {
  const PopulationResult& p = t.population;
  json ptc = json::array();
  for (double v : p.ptc) ptc.push_back(finite_or_null(v));
  return {{"n_directions", t.n_directions},
          {"n_units", p.n_units},
          {"n_responsive", p.n_responsive},
          {"n_selective", p.n_selective},
          {"responsive_peak_threshold", finite_or_null(p.responsive_peak_threshold)},
          {"fraction_responsive", p.fraction_responsive},
          {"fraction_selective", p.fraction_selective},
          {"fraction_selective_of_responsive", finite_or_null(p.fraction_selective_of_responsive)},
          {"selective_medians", medians_json(p.selective)},
          {"responsive_medians", medians_json(p.responsive)},
          {"ptc", ptc},
          {"ptc_fwhm_deg", finite_or_null(p.ptc_fwhm_deg)},
          {"ptc_a180", finite_or_null(p.ptc_a180)},
          {"notes",
           "negative (baseline-subtracted) responses are clipped at 0 for the vector-sum preferred direction, CV_dir, "
           "CV_ax and the CV-derived bandwidth; DSI, DI and FWHM use the unclipped curve; the PTC aligns each "
           "selective unit at its argmax sample"}};
}

Table unit_table(const TuningResult& t, const std::vector<double>* x, const std::vector<double>* y) {
  Table tab;
  tab.origin = "units";
  const size_t n = t.units.size();
  auto col = [&](const std::string& name, auto get) {
    tab.names.push_back(name);
    std::vector<double> c(n);
    for (size_t i = 0; i < n; ++i) c[i] = get(t.units[i], i);
    tab.columns.push_back(std::move(c));
  };
  col("unit", [](const UnitMetrics&, size_t i) { return double(i); });
  if (x && y) {
    MTMAP_CHECK(x->size() == n && y->size() == n, "unit positions: {} x and {} y for {} units", x->size(), y->size(), n);
    col("x_mm", [&](const UnitMetrics&, size_t i) { return (*x)[i]; });
    col("y_mm", [&](const UnitMetrics&, size_t i) { return (*y)[i]; });
  }
  col("preferred_direction_deg", [](const UnitMetrics& u, size_t) { return u.preferred_direction_deg; });
  col("peak_response", [](const UnitMetrics& u, size_t) { return u.peak_response; });
  col("null_response", [](const UnitMetrics& u, size_t) { return u.null_response; });
  col("dsi", [](const UnitMetrics& u, size_t) { return u.dsi; });
  col("di", [](const UnitMetrics& u, size_t) { return u.di; });
  col("cv_dir", [](const UnitMetrics& u, size_t) { return u.cv_dir; });
  col("cv_ax", [](const UnitMetrics& u, size_t) { return u.cv_ax; });
  col("vector_strength", [](const UnitMetrics& u, size_t) { return u.vector_strength; });
  col("fwhm_deg", [](const UnitMetrics& u, size_t) { return u.fwhm_deg; });
  col("kappa_from_cv", [](const UnitMetrics& u, size_t) { return u.kappa_from_cv; });
  col("cv_bandwidth_deg", [](const UnitMetrics& u, size_t) { return u.cv_bandwidth_deg; });
  col("best_sf", [](const UnitMetrics& u, size_t) { return double(u.best_sf); });
  col("best_tf", [](const UnitMetrics& u, size_t) { return double(u.best_tf); });
  col("responsive", [](const UnitMetrics& u, size_t) { return u.responsive ? 1.0 : 0.0; });
  col("selective", [](const UnitMetrics& u, size_t) { return u.selective ? 1.0 : 0.0; });
  return tab;
}

MapUnits map_units_from_tuning(const TuningResult& t, const std::vector<double>& x, const std::vector<double>& y) {
  MTMAP_CHECK(x.size() == t.units.size() && y.size() == t.units.size(), "unit positions: {} x and {} y for {} units",
              x.size(), y.size(), t.units.size());
  MapUnits m;
  for (size_t i = 0; i < t.units.size(); ++i) {
    const UnitMetrics& u = t.units[i];
    if (!std::isfinite(u.preferred_direction_deg)) continue;
    m.x_mm.push_back(x[i]), m.y_mm.push_back(y[i]);
    m.theta_deg.push_back(u.preferred_direction_deg), m.weight.push_back(u.vector_strength);
  }
  return m;
}

void write_run(const std::string& dir, const AnalysisConfig& cfg, const json& inputs, const TuningResult* tuning,
               const std::vector<double>* x, const std::vector<double>* y, const MapResult* map) {
  const fs::path root(dir);
  std::error_code ec;
  fs::create_directories(root / "figures", ec);
  MTMAP_CHECK(!ec, "cannot create output folder '{}': {}", dir, ec.message());
  json metrics;
  metrics["mtmap_version"] = MTMAP_VERSION;
  metrics["kind"] = tuning && map ? "tuning+map" : tuning ? "tuning" : "map";
  metrics["config"] = config_to_json(cfg);
  metrics["inputs"] = inputs;
  if (tuning) {
    metrics["tuning"] = tuning_result_json(*tuning);
    const Table units = unit_table(*tuning, x, y);
    write_csv((root / "units.csv").string(), units);
    write_npy_table((root / "units.npy").string(), units);
    write_npy((root / "tuning_curves.npy").string(), {tuning->units.size(), size_t(tuning->n_directions)},
              tuning->curves);
    write_text(root / "figures" / "ptc.svg", render_svg(ptc_plot(metrics["tuning"])));
    write_text(root / "figures" / "fwhm_vs_cv_bandwidth.svg", render_svg(fwhm_scatter_plot(units)));
    for (const char* c : {"dsi", "di", "cv_dir", "fwhm_deg"})
      write_text(root / "figures" / (std::string("hist_") + c + ".svg"), render_svg(unit_histogram(units, c)));
    write_text(root / "figures" / "directions.svg", directions_svg(tuning->n_directions));
  }
  if (map) {
    metrics["map"] = map_result_json(*map);
    const FieldGrid& g = map->grid;
    std::vector<double> angle(g.z.size()), magnitude(g.z.size());
    for (size_t i = 0; i < g.z.size(); ++i) {
      angle[i] = g.coverage[i] > 0 ? field_angle_deg(g.z[i], cfg.map.period_deg) : NAN;
      magnitude[i] = g.coverage[i] > 0 ? std::abs(g.z[i]) : NAN;
    }
    write_npy((root / "direction_map.npy").string(), {size_t(g.ny), size_t(g.nx)}, angle);
    write_npy((root / "magnitude_map.npy").string(), {size_t(g.ny), size_t(g.nx)}, magnitude);
    write_png((root / "direction_map.png").string(),
              render_direction_map(g, map->pinwheels, full_view(g), cfg.map.period_deg, cfg.figures));
    write_png((root / "direction_map_zoom.png").string(),
              render_direction_map(g, map->pinwheels, centre_view(g, cfg.figures.subregion_mm), cfg.map.period_deg,
                                   cfg.figures));
    write_png((root / "magnitude_map.png").string(), render_magnitude_map(g, full_view(g), cfg.figures));
    write_text(root / "figures" / "delta_histogram.svg", render_svg(delta_plot(metrics["map"])));
    write_text(root / "figures" / "smoothness.svg", render_svg(smoothness_plot(metrics["map"])));
    write_text(root / "figures" / "density_vs_width.svg", render_svg(density_width_plot(metrics["map"])));
    write_text(root / "figures" / "spectrum.svg", render_svg(spectrum_plot(metrics["map"])));
  }
  write_text(root / "metrics.json", metrics.dump(2) + "\n");
}

json read_metrics(const std::string& run_dir) {
  const fs::path p = fs::path(run_dir) / "metrics.json";
  std::ifstream in(p);
  MTMAP_CHECK(in.good(), "run folder '{}' has no metrics.json", run_dir);
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    MTMAP_FAIL("'{}': invalid JSON: {}", p.string(), e.what());
  }
}

}  // namespace mtmap::analysis
