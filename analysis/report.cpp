#include "analysis/report.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "analysis/reference_values.h"
#include "analysis/report_plots.h"
#include "analysis/run_output.h"
#include "analysis/stats_util.h"
#include "engine/core/error.h"
#include "formats/atomic_file.h"

namespace mtmap::analysis {

// The file formats this file writes or reads (formats/).
using formats::Plot;
using formats::Series;
using formats::render_svg;
using formats::xml_escape;

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Run {
  std::string dir, name;
  json metrics;
  Table units;  // empty when the run has no per-unit table
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  MTMAP_CHECK(in.good(), "cannot read '{}'", p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string fmt_num(double v, const char* f = "{:.3g}") { return std::isfinite(v) ? fmt::format(fmt::runtime(f), v) : "—"; }

std::string figure(const std::string& body, const std::string& caption) {
  return fmt::format("<figure>{}<figcaption>{}</figcaption></figure>\n", body, caption);
}

std::string png_figure(const Run& r, const std::string& file, const std::string& caption) {
  const fs::path p = fs::path(r.dir) / file;
  if (!fs::exists(p)) return "";
  return figure(fmt::format("<img alt=\"{}\" src=\"data:image/png;base64,{}\">", xml_escape(file), base64(read_file(p))),
                caption);
}

std::string run_label(const Run& r) {
  const json& run = r.metrics["config"]["run"];
  std::string l = run.value("label", "");
  if (l.empty()) l = r.name;
  return l;
}

std::string run_section(const Run& r, bool first) {
  const json& m = r.metrics;
  const json& cfg = m["config"];
  std::string h = fmt::format("<section><h2>Run: {}</h2>\n<p class=\"meta\">folder <code>{}</code>; α {}; seed {}; "
                              "objective {}; analysis: {}</p>\n",
                              xml_escape(run_label(r)), xml_escape(r.dir), cfg["run"]["alpha"].dump(),
                              cfg["run"]["seed"].dump(), xml_escape(cfg["run"].value("objective", "")),
                              xml_escape(m.value("kind", "")));
  h += "<div class=\"grid\">\n";
  if (m.contains("tuning")) {
    const json& t = m["tuning"];
    if (first)
      h += figure(directions_svg(t.value("n_directions", 16)),
                  "Fig. 2A: the drifting-grating directions (0° = rightward, counter-clockwise positive).");
    h += figure(render_svg(ptc_plot(t)),
                fmt::format("Fig. 2B/5: population tuning curve of {} selective units; main-peak FWHM {}°, "
                            "A180 = PTC(180°)/PTC(0°) = {}. Dashed: macaque PTC(180°) ≈ 0 (Rodman &amp; Albright 1987).",
                            t.value("n_selective", 0), fmt_num(metric_at(t, "ptc_fwhm_deg"), "{:.1f}"),
                            fmt_num(metric_at(t, "ptc_a180"))));
    if (r.units.rows() > 0) {
      h += figure(render_svg(fwhm_scatter_plot(r.units)),
                  "Fig. 3A: FWHM of the interpolated curve against the CV-derived (von Mises) bandwidth; an axial "
                  "second lobe moves units above the diagonal's right side. Macaque: 83° (Albright 1984), 90–100° "
                  "(Britten &amp; Newsome 1998), 108° (σ 0.80 rad).");
      for (const char* c : {"dsi", "di", "cv_dir", "fwhm_deg"})
        h += figure(render_svg(unit_histogram(r.units, c)),
                    fmt::format("Distribution of {} over responsive units (macaque values dashed, "
                                "docs/measurements.md §7).",
                                c));
    }
    h += fmt::format(
        "<table><tr><th>metric</th><th>model (selective units)</th><th>model (responsive units)</th></tr>"
        "<tr><td>units / responsive / selective</td><td colspan=2>{} / {} / {} (fraction selective {})</td></tr>"
        "<tr><td>median DSI</td><td>{}</td><td>{}</td></tr><tr><td>median DI</td><td>{}</td><td>{}</td></tr>"
        "<tr><td>median CV<sub>dir</sub></td><td>{}</td><td>{}</td></tr>"
        "<tr><td>median CV<sub>ax</sub></td><td>{}</td><td>{}</td></tr>"
        "<tr><td>median FWHM (°)</td><td>{}</td><td>{}</td></tr>"
        "<tr><td>median CV-derived bandwidth (°)</td><td>{}</td><td>{}</td></tr></table>\n",
        t.value("n_units", 0), t.value("n_responsive", 0), t.value("n_selective", 0),
        fmt_num(metric_at(t, "fraction_selective")), fmt_num(metric_at(t, "selective_medians.dsi")),
        fmt_num(metric_at(t, "responsive_medians.dsi")), fmt_num(metric_at(t, "selective_medians.di")),
        fmt_num(metric_at(t, "responsive_medians.di")), fmt_num(metric_at(t, "selective_medians.cv_dir")),
        fmt_num(metric_at(t, "responsive_medians.cv_dir")), fmt_num(metric_at(t, "selective_medians.cv_ax")),
        fmt_num(metric_at(t, "responsive_medians.cv_ax")), fmt_num(metric_at(t, "selective_medians.fwhm_deg"), "{:.1f}"),
        fmt_num(metric_at(t, "responsive_medians.fwhm_deg"), "{:.1f}"),
        fmt_num(metric_at(t, "selective_medians.cv_bandwidth_deg"), "{:.1f}"),
        fmt_num(metric_at(t, "responsive_medians.cv_bandwidth_deg"), "{:.1f}"));
  }
  if (m.contains("map")) {
    const json& mp = m["map"];
    const json& p = mp["pinwheels"];
    const std::string counts = fmt::format(
        "{} pinwheels (+1: {}, −1: {}; zero-crossing check: +{} / −{}, {} matched) in {} mm² → {} /mm², Λ = {} mm, "
        "ρ = {} per Λ²; smoothing {} {} mm, border {} mm excluded",
        p.value("n_total", 0), p.value("n_positive", 0), p.value("n_negative", 0),
        p["zero_crossing_check"].value("n_positive", 0), p["zero_crossing_check"].value("n_negative", 0),
        p["zero_crossing_check"].value("matched_to_plaquette", 0), fmt_num(metric_at(p, "analysed_area_mm2")),
        fmt_num(metric_at(p, "density_per_mm2")), fmt_num(metric_at(mp, "column_spacing.lambda_mm")),
        fmt_num(metric_at(p, "density_per_lambda2")), xml_escape(cfg["map"].value("kernel", "")),
        fmt_num(metric_at(cfg, "map.smoothing_width_mm")), fmt_num(metric_at(p, "border_mm")));
    const std::string bar = fmt_num(metric_at(cfg, "figures.scale_bar_mm"), "{:g}");
    h += png_figure(r, "direction_map.png",
                    fmt::format("Fig. 4A: direction map (hue = preferred direction, key top right); white discs +1, "
                                "black discs −1 pinwheels; scale bar {} mm. {}. Macaque estimate 4.9 /mm² (Kaschube et "
                                "al. 2010; Diogo et al. 2003).",
                                bar, counts));
    h += png_figure(r, "direction_map_zoom.png",
                    fmt::format("Fig. 6: central {} mm × {} mm sub-region, scale bar {} mm.",
                                fmt_num(metric_at(cfg, "figures.subregion_mm"), "{:g}"),
                                fmt_num(metric_at(cfg, "figures.subregion_mm"), "{:g}"), bar));
    h += png_figure(r, "magnitude_map.png", "Magnitude |z| (dark = poorly defined preference; dark red = no units).");
    h += figure(render_svg(delta_plot(mp)), "Fig. 4C: |Δ preferred direction| between each unit and its nearest "
                                            "neighbours, against shuffled positions (chance).");
    h += figure(render_svg(density_width_plot(mp)), "Pinwheel density against smoothing width; dashed: 4.9 /mm² "
                                                    "(Kaschube et al. 2010; Diogo et al. 2003), band 1.6–6.4 /mm².");
    h += figure(render_svg(smoothness_plot(mp)), "Smoothness: mean |Δ| against cortical distance, map and shuffled.");
    h += figure(render_svg(spectrum_plot(mp)), "Radially averaged power spectrum of z; Λ = 1/k at the peak.");
  }
  h += "</div>\n";
  h += fmt::format("<details><summary>Settings used (resolved config) and inputs</summary><pre>{}</pre><pre>{}</pre>"
                   "</details></section>\n",
                   xml_escape(cfg.dump(2)), xml_escape(m.value("inputs", json::object()).dump(2)));
  return h;
}

std::string reference_section() {
  std::string h = "<section><h2>Macaque MT reference values</h2>\n<p>Literature estimates as listed in the project's "
                  "measurement definitions (docs/measurements.md §7), quoted with their sources; they are drawn as "
                  "dashed lines or grey bands for comparison, not as pass/fail criteria.</p>\n<table><tr><th>metric"
                  "</th><th>reference</th><th>source</th></tr>\n";
  for (const auto& row : macaque_reference_table())
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", xml_escape(row.metric), xml_escape(row.reference),
                     xml_escape(row.source));
  return h + "</table></section>\n";
}

// Mean PTC of each group of runs, one series per group (Figs. 3B and 5).
using RunGroups = std::vector<std::pair<std::string, std::vector<const Run*>>>;  // in drawing order

Plot ptc_overlay(const RunGroups& groups, const std::string& title) {
  Plot ptcs;
  ptcs.title = title;
  ptcs.xlabel = "direction relative to preferred (deg)";
  ptcs.ylabel = "normalised response";
  static const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  int ci = 0;
  for (const auto& [name, v] : groups) {
    Series mean_ptc;
    int count = 0;
    for (const Run* r : v) {
      const Plot one = ptc_plot(r->metrics.value("tuning", json::object()));
      const Series& s = one.series[0];
      if (s.y.empty() || !std::isfinite(s.y[0])) continue;
      if (count == 0) mean_ptc = s;
      else
        for (size_t k = 0; k < s.y.size() && k < mean_ptc.y.size(); ++k) mean_ptc.y[k] += s.y[k];
      ++count;
    }
    if (count == 0) continue;
    for (double& y : mean_ptc.y) y /= count;
    mean_ptc.label = name;
    mean_ptc.colour = colours[ci++ % 8];
    ptcs.series.push_back(mean_ptc);
  }
  ptcs.refs.push_back({macaque::ptc_a180, "macaque ≈ 0 at 180° (Rodman & Albright 1987)"});
  ptcs.xmin = -180, ptcs.xmax = 180;
  return ptcs;
}

// The files a study report writes besides the page: (file name under figures/, SVG text).
using PanelFiles = std::vector<std::pair<std::string, std::string>>;

std::vector<json> metrics_of(const std::vector<Run>& runs) {
  std::vector<json> m;
  for (const auto& r : runs) m.push_back(r.metrics);
  return m;
}

std::string condition_name(const Condition& c, bool with_objective) {
  const std::string a = std::isfinite(c.alpha) ? fmt::format("α = {:g}", c.alpha) : "α not given";
  if (!with_objective || c.objective.empty()) return a;
  return c.objective + ", " + a;
}

std::string comparison_section(const std::vector<Run>& runs, PanelFiles* files) {
  const std::vector<json> metrics = metrics_of(runs);
  const std::vector<Condition> conditions = group_conditions(metrics);
  std::map<double, size_t> by_alpha;  // α -> runs
  RunGroups by_objective;             // study order: joint, contrastive, spatial, others
  for (const auto& c : conditions) {
    if (std::isfinite(c.alpha)) by_alpha[c.alpha] += c.runs.size();
    if (c.objective.empty()) continue;
    if (by_objective.empty() || by_objective.back().first != c.objective) by_objective.push_back({c.objective, {}});
    for (size_t i : c.runs) by_objective.back().second.push_back(&runs[i]);
  }
  const bool several_objectives = by_objective.size() >= 2;
  std::string h;
  if (by_alpha.size() >= 2) {
    h += "<section><h2>Across runs: metrics versus α</h2>\n<p>Each point: mean over the runs (seeds) at that α; bars: "
         "95 % confidence interval of the mean (Student t, n − 1 degrees of freedom; none with a single seed). ";
    if (several_objectives) h += "One series per training objective. ";
    h += "Runs per α: ";
    for (const auto& [a, n] : by_alpha) h += fmt::format("α {:g}: {}; ", a, n);
    h += "</p><div class=\"grid\">\n";
    for (const auto& sm : sweep_metrics()) {
      bool any = false;
      for (const auto& m : metrics) any |= std::isfinite(metric_at(m, sm.key));
      if (!any) continue;
      const std::string svg = render_svg(sweep_plot_by_objective(metrics, sm));
      h += figure(svg, xml_escape(sm.title) + " against α.");
      if (files) files->push_back({"metric_vs_alpha_" + sm.key + ".svg", svg});
    }
    RunGroups groups;
    for (const auto& c : conditions) {
      if (!std::isfinite(c.alpha)) continue;
      groups.push_back({condition_name(c, several_objectives), {}});
      for (size_t i : c.runs) groups.back().second.push_back(&runs[i]);
    }
    const Plot ptcs = ptc_overlay(groups, "Population tuning curves for every α (Fig. 5)");
    if (!ptcs.series.empty()) {
      const std::string svg = render_svg(ptcs);
      h += figure(svg, "Fig. 5: PTCs for every α (mean over seeds).");
      if (files) files->push_back({"ptc_by_alpha.svg", svg});
    }
    h += "</div></section>\n";
  }
  if (several_objectives) {
    h += "<section><h2>Across objectives (Fig. 3B)</h2>\n<table><tr><th>objective</th><th>runs</th><th>fraction "
         "selective</th><th>median DSI</th><th>median CV</th><th>median FWHM (°)</th><th>median CV-derived bandwidth (°)"
         "</th><th>A180</th></tr>\n";
    for (const auto& [o, v] : by_objective) {
      const auto& runs = v;  // a lambda cannot capture a structured binding before clang 16
      auto avg = [&](const char* key) {
        std::vector<double> xs;
        for (const Run* r : runs) xs.push_back(metric_at(r->metrics, key));
        const double ci = ci95_half_width(xs);
        return fmt_num(mean(xs)) + (std::isfinite(ci) ? " ± " + fmt_num(ci) : "");
      };
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       xml_escape(o), v.size(), avg("tuning.fraction_selective"), avg("tuning.selective_medians.dsi"),
                       avg("tuning.selective_medians.cv_dir"), avg("tuning.selective_medians.fwhm_deg"),
                       avg("tuning.selective_medians.cv_bandwidth_deg"), avg("tuning.ptc_a180"));
    }
    h += "</table><p>Values: mean over runs ± 95 % CI half-width.</p>\n";
    const Plot ptcs = ptc_overlay(by_objective, "Population tuning curves by objective (Fig. 3B)");
    if (!ptcs.series.empty()) {
      const std::string svg = render_svg(ptcs);
      h += figure(svg, "Fig. 3B: PTCs by training objective (mean over runs).");
      if (files) files->push_back({"ptc_by_objective.svg", svg});
    }
    h += "</section>\n";
  }
  return h;
}

std::vector<Run> load_runs(const std::vector<std::string>& run_dirs) {
  MTMAP_CHECK(!run_dirs.empty(), "analyze-report: no run folders given");
  std::vector<Run> runs;
  for (const auto& d : run_dirs) {
    Run r;
    r.dir = d;
    r.name = fs::path(d).filename().string();
    if (r.name.empty()) r.name = fs::path(d).parent_path().filename().string();
    r.metrics = read_metrics(d);
    MTMAP_CHECK(r.metrics.contains("config") && (r.metrics.contains("tuning") || r.metrics.contains("map")),
                "'{}/metrics.json' is not an analysed run (no config, or neither tuning nor map results)", d);
    if (fs::exists(fs::path(d) / "units.csv")) r.units = read_csv((fs::path(d) / "units.csv").string());
    runs.push_back(std::move(r));
  }
  return runs;
}

// The whole page. `preface` goes right after the heading, `extra` after the cross-run comparison
// (both HTML); `files` collects the comparison panels as files.
std::string report_page(const std::vector<Run>& runs, const std::string& title, const std::string& preface,
                        const std::string& extra, PanelFiles* files) {
  std::string h = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title>\n<style>\n"
      "body{{font-family:sans-serif;margin:24px;max-width:1400px;color:#222}}h1{{font-size:22px}}h2{{font-size:18px;"
      "border-bottom:1px solid #ccc}}table{{border-collapse:collapse;margin:8px 0}}td,th{{border:1px solid #ccc;padding:"
      "3px 8px;font-size:13px;text-align:left}}.grid{{display:flex;flex-wrap:wrap;gap:12px}}figure{{margin:0;max-width:"
      "560px}}figure img{{max-width:560px;image-rendering:pixelated}}figcaption{{font-size:12px;color:#444}}.meta{{color:"
      "#555;font-size:13px}}pre{{font-size:11px;background:#f6f6f6;padding:6px}}table.maps td{{vertical-align:top}}"
      "table.maps figure img{{max-width:260px}}.note{{background:#fff8e0;padding:6px 10px}}\n</style></head><body>\n"
      "<h1>{0}</h1>\n<p class=\"meta\">Generated by mtmap {1} from {2} analysed run folder(s). Definitions: "
      "docs/measurements.md §2–6; figure panels: §8.</p>\n",
      xml_escape(title), MTMAP_VERSION, runs.size());
  h += preface;
  h += "<section><h2>Runs</h2><table><tr><th>run</th><th>α</th><th>seed</th><th>objective</th><th>units</th><th>fraction "
       "selective</th><th>median DSI</th><th>median FWHM (°)</th><th>pinwheels /mm²</th><th>Λ (mm)</th></tr>\n";
  for (const auto& r : runs)
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}"
                     "</td><td>{}</td></tr>\n",
                     xml_escape(run_label(r)), r.metrics["config"]["run"]["alpha"].dump(),
                     r.metrics["config"]["run"]["seed"].dump(), xml_escape(r.metrics["config"]["run"].value("objective", "")),
                     fmt_num(std::isfinite(metric_at(r.metrics, "tuning.n_units")) ? metric_at(r.metrics, "tuning.n_units")
                                                                                   : metric_at(r.metrics, "map.n_units"),
                             "{:g}"),
                     fmt_num(metric_at(r.metrics, "tuning.fraction_selective")),
                     fmt_num(metric_at(r.metrics, "tuning.selective_medians.dsi")),
                     fmt_num(metric_at(r.metrics, "tuning.selective_medians.fwhm_deg"), "{:.1f}"),
                     fmt_num(metric_at(r.metrics, "map.pinwheels.density_per_mm2")),
                     fmt_num(metric_at(r.metrics, "map.column_spacing.lambda_mm")));
  h += "</table></section>\n";
  h += reference_section();
  h += comparison_section(runs, files);
  h += extra;
  for (size_t i = 0; i < runs.size(); ++i) h += run_section(runs[i], i == 0);
  h += "</body></html>\n";
  return h;
}

// A run label as a file-name part: letters, digits, '.', '-', '_' kept, anything else '_'.
std::string sanitise(const std::string& label) {
  std::string s;
  for (char c : label) s += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ? c : '_';
  if (s.empty() || s.find_first_not_of('.') == std::string::npos) s = "run" + s;
  return s;
}

bool has_direction_map(const Run& r) { return fs::exists(fs::path(r.dir) / "direction_map.png"); }

// "Direction maps side by side": rows = conditions in study order, columns = seeds.
std::string side_by_side_section(const std::vector<Run>& runs, const std::vector<Condition>& conditions) {
  std::vector<double> seeds;  // NaN: no seed given
  bool no_seed = false;
  for (const auto& r : runs) {
    const double s = metric_at(r.metrics, "config.run.seed");
    if (!std::isfinite(s)) no_seed = true;
    else if (std::find(seeds.begin(), seeds.end(), s) == seeds.end()) seeds.push_back(s);
  }
  std::sort(seeds.begin(), seeds.end());
  if (no_seed) seeds.push_back(std::numeric_limits<double>::quiet_NaN());
  auto same_seed = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
  std::string h = "<section><h2>Direction maps side by side</h2>\n<p>Rows: condition (objective and α; joint by α, "
                  "then contrastive, then spatial); columns: seed. Hue = preferred direction; white discs +1, black "
                  "discs −1 pinwheels. Each map is also a file under <code>figures/</code>.</p>\n"
                  "<table class=\"maps\"><tr><th>condition</th>";
  for (double s : seeds) h += std::isfinite(s) ? fmt::format("<th>seed {:g}</th>", s) : std::string("<th>no seed</th>");
  h += "</tr>\n";
  for (const auto& c : conditions) {
    h += fmt::format("<tr><th>{}</th>", xml_escape(condition_name(c, true)));
    for (double s : seeds) {
      h += "<td>";
      bool any = false;
      for (size_t i : c.runs) {
        const Run& r = runs[i];
        if (!same_seed(metric_at(r.metrics, "config.run.seed"), s)) continue;
        any = true;
        std::string cap = xml_escape(run_label(r));
        const double n = metric_at(r.metrics, "map.pinwheels.n_total");
        const double d = metric_at(r.metrics, "map.pinwheels.density_per_mm2");
        const double rho = metric_at(r.metrics, "map.pinwheels.density_per_lambda2");
        if (std::isfinite(n)) cap += fmt::format("; {:g} pinwheels", n);
        if (std::isfinite(d)) cap += fmt::format(", {} /mm²", fmt_num(d));
        if (std::isfinite(rho)) cap += fmt::format(", ρ = {} per Λ²", fmt_num(rho));
        if (has_direction_map(r))
          h += figure(fmt::format("<img alt=\"direction map of {0}\" src=\"data:image/png;base64,{1}\">",
                                  xml_escape(run_label(r)), base64(read_file(fs::path(r.dir) / "direction_map.png"))),
                      cap);
        else
          h += fmt::format("<p>{}: no direction map ({}).</p>", cap,
                           r.metrics.contains("map") ? "direction_map.png is missing from the run folder"
                                                     : "the run has no map analysis");
      }
      if (!any) h += "—";
      h += "</td>";
    }
    h += "</tr>\n";
  }
  return h + "</table></section>\n";
}

json null_if_nan(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json study_summary(const std::vector<Run>& runs, const std::vector<Condition>& conditions, const StudyReportOptions& o) {
  const std::vector<json> metrics = metrics_of(runs);
  json j;
  j["title"] = o.title;
  j["generated_by"] = std::string("mtmap ") + MTMAP_VERSION;
  j["notes"] = o.notes;
  j["interval"] = "95 % confidence interval of the mean over the condition's runs (seeds): mean ± t(0.975, n − 1)·s/√n; "
                  "null with fewer than two runs; the same numbers as the metric-versus-α panels";
  json keys = json::array();
  for (const auto& sm : sweep_metrics()) keys.push_back({{"key", sm.key}, {"title", sm.title}, {"unit", sm.ylabel}});
  j["metrics"] = keys;
  json cs = json::array();
  for (const auto& c : conditions) {
    json cj;
    cj["objective"] = c.objective.empty() ? json(nullptr) : json(c.objective);
    cj["alpha"] = null_if_nan(c.alpha);
    cj["n_seeds"] = c.runs.size();
    json seeds = json::array(), rs = json::array();
    for (size_t i : c.runs) {
      const double s = metric_at(runs[i].metrics, "config.run.seed");
      seeds.push_back(null_if_nan(s));
      rs.push_back({{"label", run_label(runs[i])}, {"folder", runs[i].dir}, {"seed", null_if_nan(s)}});
    }
    cj["seeds"] = seeds;
    cj["runs"] = rs;
    json ms = json::object();
    for (const auto& sm : sweep_metrics()) {
      const ConditionStat st = condition_stat(metrics, c, sm.key);
      const bool ci = std::isfinite(st.ci95_half);
      ms[sm.key] = {{"n", st.n},
                    {"mean", null_if_nan(st.mean)},
                    {"ci95_low", ci ? json(st.mean - st.ci95_half) : json(nullptr)},
                    {"ci95_high", ci ? json(st.mean + st.ci95_half) : json(nullptr)},
                    {"ci95_half_width", null_if_nan(st.ci95_half)}};
    }
    cj["metrics"] = ms;
    cs.push_back(cj);
  }
  j["conditions"] = cs;
  return j;
}

}  // namespace

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = uint8_t(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

void build_report(const std::vector<std::string>& run_dirs, const std::string& out_html, const std::string& title) {
  const std::vector<Run> runs = load_runs(run_dirs);
  formats::write_file_atomic(out_html, report_page(runs, title, "", "", nullptr));
}

StudyReportSummary build_study_report(const StudyReportOptions& o) {
  MTMAP_CHECK(!o.out_dir.empty(), "study report: no output folder given");
  const std::vector<Run> runs = load_runs(o.run_dirs);
  const std::vector<Condition> conditions = group_conditions(metrics_of(runs));
  const fs::path out(o.out_dir), figs = out / "figures";
  fs::create_directories(figs);

  std::string preface;
  for (const auto& n : o.notes) preface += "<p class=\"note\">" + xml_escape(n) + "</p>\n";
  PanelFiles panels;
  const std::string page = report_page(runs, o.title, preface, side_by_side_section(runs, conditions), &panels);

  StudyReportSummary summary;
  for (const auto& [name, svg] : panels) {
    formats::write_file_atomic((figs / name).string(), svg);
    summary.figures.push_back((figs / name).string());
  }
  std::set<std::string> used;
  for (const auto& r : runs) {
    if (!has_direction_map(r)) continue;
    std::string base = "direction_map_" + sanitise(run_label(r)), name = base + ".png";
    for (int k = 2; used.count(name); ++k) name = fmt::format("{}_{}.png", base, k);
    used.insert(name);
    formats::write_file_atomic((figs / name).string(), read_file(fs::path(r.dir) / "direction_map.png"));
    summary.figures.push_back((figs / name).string());
  }
  summary.summary_json = (out / "study_summary.json").string();
  formats::write_file_atomic(summary.summary_json, study_summary(runs, conditions, o).dump(2) + "\n");
  summary.html = (out / "report.html").string();
  formats::write_file_atomic(summary.html, page);
  return summary;
}

}  // namespace mtmap::analysis
