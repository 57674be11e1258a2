#include "analysis/report.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "analysis/reference_values.h"
#include "analysis/report_plots.h"
#include "analysis/run_output.h"
#include "analysis/stats_util.h"
#include "engine/core/error.h"

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
Plot ptc_overlay(const std::map<std::string, std::vector<const Run*>>& groups, const std::string& title) {
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

std::string comparison_section(const std::vector<Run>& runs) {
  std::vector<json> metrics;
  std::map<double, std::vector<const Run*>> by_alpha;
  std::map<std::string, std::vector<const Run*>> by_objective;
  for (const auto& r : runs) {
    metrics.push_back(r.metrics);
    const double a = metric_at(r.metrics, "config.run.alpha");
    if (std::isfinite(a)) by_alpha[a].push_back(&r);
    const std::string o = r.metrics["config"]["run"].value("objective", "");
    if (!o.empty()) by_objective[o].push_back(&r);
  }
  std::string h;
  if (by_alpha.size() >= 2) {
    h += "<section><h2>Across runs: metrics versus α</h2>\n<p>Each point: mean over the runs (seeds) at that α; bars: "
         "95 % confidence interval of the mean (Student t, n − 1 degrees of freedom; none with a single seed). "
         "Runs per α: ";
    for (const auto& [a, v] : by_alpha) h += fmt::format("α {:g}: {}; ", a, v.size());
    h += "</p><div class=\"grid\">\n";
    for (const auto& sm : sweep_metrics()) {
      bool any = false;
      for (const auto& m : metrics) any |= std::isfinite(metric_at(m, sm.key));
      if (any) h += figure(render_svg(sweep_plot(metrics, sm)), xml_escape(sm.title) + " against α.");
    }
    std::map<std::string, std::vector<const Run*>> groups;
    for (const auto& [a, v] : by_alpha) groups[fmt::format("α = {:g}", a)] = v;
    const Plot ptcs = ptc_overlay(groups, "Population tuning curves for every α (Fig. 5)");
    if (!ptcs.series.empty()) h += figure(render_svg(ptcs), "Fig. 5: PTCs for every α (mean over seeds).");
    h += "</div></section>\n";
  }
  if (by_objective.size() >= 2) {
    h += "<section><h2>Across objectives (Fig. 3B)</h2>\n<table><tr><th>objective</th><th>runs</th><th>fraction "
         "selective</th><th>median DSI</th><th>median CV</th><th>median FWHM (°)</th><th>median CV-derived bandwidth (°)"
         "</th><th>A180</th></tr>\n";
    for (const auto& [o, v] : by_objective) {
      auto avg = [&](const char* key) {
        std::vector<double> xs;
        for (const Run* r : v) xs.push_back(metric_at(r->metrics, key));
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
    if (!ptcs.series.empty()) h += figure(render_svg(ptcs), "Fig. 3B: PTCs by training objective (mean over runs).");
    h += "</section>\n";
  }
  return h;
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
  std::string h = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title>\n<style>\n"
      "body{{font-family:sans-serif;margin:24px;max-width:1400px;color:#222}}h1{{font-size:22px}}h2{{font-size:18px;"
      "border-bottom:1px solid #ccc}}table{{border-collapse:collapse;margin:8px 0}}td,th{{border:1px solid #ccc;padding:"
      "3px 8px;font-size:13px;text-align:left}}.grid{{display:flex;flex-wrap:wrap;gap:12px}}figure{{margin:0;max-width:"
      "560px}}figure img{{max-width:560px;image-rendering:pixelated}}figcaption{{font-size:12px;color:#444}}.meta{{color:"
      "#555;font-size:13px}}pre{{font-size:11px;background:#f6f6f6;padding:6px}}\n</style></head><body>\n<h1>{0}</h1>\n"
      "<p class=\"meta\">Generated by mtmap {1} from {2} analysed run folder(s). Definitions: "
      "docs/measurements.md §2–6; figure panels: §8.</p>\n",
      xml_escape(title), MTMAP_VERSION, runs.size());
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
  h += comparison_section(runs);
  for (size_t i = 0; i < runs.size(); ++i) h += run_section(runs[i], i == 0);
  h += "</body></html>\n";
  const fs::path out(out_html);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  std::ofstream f(out);
  MTMAP_CHECK(f.good(), "cannot write report '{}'", out_html);
  f << h;
}

}  // namespace mtmap::analysis
