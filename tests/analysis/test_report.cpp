// Run folders and the HTML report, built in-process from synthetic runs: files present, numbers and
// settings recorded, reference values cited as docs/measurements.md gives them, sweep intervals
// right.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/png_image.h"
#include "analysis/reference_values.h"
#include "analysis/report.h"
#include "analysis/report_plots.h"
#include "analysis/run_output.h"
#include "analysis/stats_util.h"
#include "tests/analysis/planted_maps.h"
#include "tests/analysis/von_mises.h"

using namespace mtmap::analysis;
using namespace mtmap::formats;
using namespace mtmap::analysis::testing;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A small synthetic run: units on a 2.4 mm lattice, preferred directions from a random-wave map,
// von Mises tuning of concentration κ. The objective defaults to contrastive at α = 0, joint
// otherwise; without `with_map` the run has tuning results only (no direction map). `side` × `side` units.
void make_run(const fs::path& dir, double alpha, int seed, double kappa, const std::string& label = "synthetic",
              const std::string& objective = "", bool with_map = true, int side = 30) {
  const WaveField f = random_waves(20, 0.8, seed);
  ResponseArray r;
  r.units = side * side, r.directions = 16, r.sfs = 1, r.tfs = 1, r.phases = 1;
  std::vector<double> x, y;
  for (int i = 0; i < r.units; ++i) {
    x.push_back((i % side) * 0.08), y.push_back((i / side) * 0.08);
    const double mu = std::arg(f(x.back(), y.back())) * 180 / kPi;
    for (int d = 0; d < 16; ++d) r.values.push_back(0.1 + vm(22.5 * d, mu, kappa));
  }
  AnalysisConfig cfg;
  cfg.run.alpha = alpha, cfg.run.seed = seed, cfg.run.label = label;
  cfg.run.objective = !objective.empty() ? objective : alpha == 0 ? "contrastive" : "joint";
  cfg.map.smoothing_width_mm = 0.1;
  cfg.map.density_widths_mm = {0.1, 0.2};
  cfg.stats.smoothness_sample_units = 100;
  const TuningResult t = analyze_responses(r, std::vector<double>(r.units, 0.1), cfg.tuning);
  if (!with_map) {
    write_run(dir.string(), cfg, {{"synthetic", true}}, &t, &x, &y, nullptr);
    return;
  }
  const MapResult m = analyze_map(map_units_from_tuning(t, x, y), cfg);
  write_run(dir.string(), cfg, {{"synthetic", true}}, &t, &x, &y, &m);
}

std::string slurp_binary(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("A run folder holds every output, and the report shows runs, references and the α sweep", "[analysis][report]") {
  const fs::path d = fs::temp_directory_path() / ("mtmap_test_report_" + std::to_string(::getpid()));
  fs::remove_all(d);
  std::vector<std::string> runs;
  for (double alpha : {0.0, 0.5})
    for (int seed : {1, 2, 3}) {
      const fs::path run = d / ("a" + std::to_string(alpha) + "_s" + std::to_string(seed));
      make_run(run, alpha, seed, 1.0 + 2 * alpha + 0.1 * seed);
      runs.push_back(run.string());
    }
  for (const char* f : {"metrics.json", "units.csv", "units.npy", "tuning_curves.npy", "direction_map.npy",
                        "magnitude_map.npy", "direction_map.png", "direction_map_zoom.png", "magnitude_map.png",
                        "figures/ptc.svg", "figures/delta_histogram.svg", "figures/fwhm_vs_cv_bandwidth.svg",
                        "figures/density_vs_width.svg", "figures/spectrum.svg", "figures/smoothness.svg"}) {
    INFO(f);
    CHECK(fs::file_size(fs::path(runs[0]) / f) > 0);
  }
  const nlohmann::json m = read_metrics(runs[0]);
  CHECK(m["config"]["map"]["smoothing_width_mm"] == 0.1);  // the settings used travel with the numbers
  CHECK(m["config"]["run"]["alpha"] == 0.0);
  CHECK(m["tuning"]["n_units"] == 900);
  CHECK(m["map"]["pinwheels"]["n_total"].get<int>() ==
        m["map"]["pinwheels"]["n_positive"].get<int>() + m["map"]["pinwheels"]["n_negative"].get<int>());
  const Image map = read_png((fs::path(runs[0]) / "direction_map.png").string());
  CHECK(map.width() == AnalysisConfig{}.figures.map_pixels);

  // The sweep plot: mean ± t(0.975, 2)·s/√3 over the three seeds at each α.
  std::vector<nlohmann::json> metrics;
  for (const auto& r : runs) metrics.push_back(read_metrics(r));
  const Plot p = sweep_plot(metrics, sweep_metrics()[3]);  // median DSI
  REQUIRE(p.series[0].x == std::vector<double>{0.0, 0.5});
  std::vector<double> dsi;
  for (int i = 3; i < 6; ++i) dsi.push_back(metric_at(metrics[i], "tuning.selective_medians.dsi"));
  const double mu = (dsi[0] + dsi[1] + dsi[2]) / 3;
  const double sd = std::sqrt(((dsi[0] - mu) * (dsi[0] - mu) + (dsi[1] - mu) * (dsi[1] - mu) + (dsi[2] - mu) * (dsi[2] - mu)) / 2);
  CHECK(p.series[0].y[1] == Approx(mu));
  CHECK(p.series[0].err[1] == Approx(4.303 * sd / std::sqrt(3.0)));

  const fs::path html = d / "report.html";
  build_report(runs, html.string(), "test report");
  const std::string h = slurp(html);
  CHECK(h.find("<h1>test report</h1>") != std::string::npos);
  CHECK(h.find("metrics versus α") != std::string::npos);
  CHECK(h.find("Across objectives (Fig. 3B)") != std::string::npos);
  CHECK(h.find("<td>contrastive</td><td>3</td>") != std::string::npos);
  CHECK(h.find("Population tuning curves by objective (Fig. 3B)") != std::string::npos);
  CHECK(h.find("data:image/png;base64,") != std::string::npos);
  CHECK(h.find("Fig. 4A") != std::string::npos);
  CHECK(h.find("Fig. 2B") != std::string::npos);
  for (const auto& row : macaque_reference_table()) {
    INFO(row.source);
    CHECK(h.find(xml_escape(row.source)) != std::string::npos);
    CHECK(h.find(xml_escape(row.reference)) != std::string::npos);
  }
  // Nothing outside the file: no external links, scripts or stylesheets.
  CHECK(h.find("src=\"http") == std::string::npos);
  CHECK(h.find("<link") == std::string::npos);
  fs::remove_all(d);
}

TEST_CASE("Report inputs that are not analysed runs are named", "[analysis][report]") {
  const fs::path d = fs::temp_directory_path() / ("mtmap_test_report_bad_" + std::to_string(::getpid()));
  fs::create_directories(d);
  CHECK_THROWS_WITH(build_report({d.string()}, (d / "r.html").string(), "x"), Catch::Contains("has no metrics.json"));
  std::ofstream(d / "metrics.json") << "{\"hello\": 1}";
  CHECK_THROWS_WITH(build_report({d.string()}, (d / "r.html").string(), "x"), Catch::Contains("is not an analysed run"));
  fs::remove_all(d);
}

TEST_CASE("base64 matches RFC 4648 test vectors", "[analysis][report]") {
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foobar") == "Zm9vYmFy");
}

TEST_CASE("Student t quantiles and the 95 % interval", "[analysis][report]") {
  CHECK(student_t975(1) == Approx(12.706));
  CHECK(student_t975(60) == Approx(2.000).margin(2e-3));  // tables: 2.000
  CHECK(student_t975(120) == Approx(1.980).margin(2e-3));  // tables: 1.980
  const std::vector<double> v = {1, 2, 3, 4};
  CHECK(ci95_half_width(v) == Approx(3.182 * std::sqrt(5.0 / 3) / 2));
  CHECK(std::isnan(ci95_half_width(std::vector<double>{1.0})));
}

TEST_CASE("A study report: the page, every panel as a file, maps side by side, and the summary per condition",
          "[analysis][report][study]") {
  const fs::path d = fs::temp_directory_path() / ("mtmap_test_study_" + std::to_string(::getpid()));
  fs::remove_all(d);
  // 2 α × 2 seeds of the joint objective, one contrastive run, one spatial run without a map.
  // Given out of study order on purpose.
  std::vector<std::string> runs;
  auto add = [&](const std::string& label, double alpha, int seed, const std::string& objective, bool map = true) {
    make_run(d / label, alpha, seed, 1.0 + alpha + 0.2 * seed, label, objective, map, 18);  // 324 units: fast
    runs.push_back((d / label).string());
  };
  add("joint a1 s2", 1.0, 2, "joint");
  add("joint_a0.5_s1", 0.5, 1, "joint");
  add("contrastive_s1", 0.0, 1, "contrastive");
  add("joint_a1_s1", 1.0, 1, "joint");
  add("joint_a0.5_s2", 0.5, 2, "joint");
  add("spatial_a0.5_s1", 0.5, 1, "spatial", false);

  StudyReportOptions o;
  o.run_dirs = runs;
  o.out_dir = (d / "study").string();
  o.title = "test study";
  o.notes = {"At this scale α < 1 & seeds = 2: intervals are wide."};
  const StudyReportSummary s = build_study_report(o);

  const std::string h = slurp(s.html);
  CHECK(s.html == (d / "study" / "report.html").string());
  CHECK(h.find("<h1>test study</h1>") != std::string::npos);
  CHECK(h.find("At this scale α &lt; 1 &amp; seeds = 2") != std::string::npos);  // notes escaped, before the runs
  CHECK(h.find("At this scale") < h.find("<h2>Runs</h2>"));
  const size_t side = h.find("<h2>Direction maps side by side</h2>");
  REQUIRE(side != std::string::npos);
  const size_t side_end = h.find("</section>", side);
  const std::string grid = h.substr(side, side_end - side);
  for (const char* label : {"joint a1 s2", "joint_a0.5_s1", "contrastive_s1", "joint_a1_s1", "joint_a0.5_s2", "spatial_a0.5_s1"}) {
    INFO(label);
    CHECK(grid.find(label) != std::string::npos);
  }
  // Rows in study order: joint by α, then contrastive, then spatial; columns: seeds 1 and 2.
  const size_t r1 = grid.find("<th>joint, α = 0.5</th>"), r2 = grid.find("<th>joint, α = 1</th>"),
               r3 = grid.find("<th>contrastive, α = 0</th>"), r4 = grid.find("<th>spatial, α = 0.5</th>");
  REQUIRE(r1 != std::string::npos);
  REQUIRE(r4 != std::string::npos);
  CHECK((r1 < r2 && r2 < r3 && r3 < r4));
  CHECK(grid.find("<th>seed 1</th><th>seed 2</th>") != std::string::npos);
  CHECK(grid.find("spatial_a0.5_s1: no direction map (the run has no map analysis)") != std::string::npos);
  CHECK(grid.find("pinwheels, ") != std::string::npos);
  CHECK(grid.find("/mm²") != std::string::npos);
  // Everything build_report shows is there too.
  CHECK(h.find("metrics versus α") != std::string::npos);
  CHECK(h.find("Across objectives (Fig. 3B)") != std::string::npos);
  CHECK(h.find("Run: joint_a1_s1") != std::string::npos);

  // Figure files: every comparison panel as SVG, each run's map as PNG (not the map-less run's).
  const fs::path figs = d / "study" / "figures";
  std::vector<std::string> expected;
  for (const auto& sm : sweep_metrics()) expected.push_back((figs / ("metric_vs_alpha_" + sm.key + ".svg")).string());
  for (const char* f : {"ptc_by_alpha.svg", "ptc_by_objective.svg", "direction_map_joint_a1_s2.png",
                        "direction_map_joint_a0.5_s1.png", "direction_map_contrastive_s1.png",
                        "direction_map_joint_a1_s1.png", "direction_map_joint_a0.5_s2.png"})
    expected.push_back((figs / f).string());
  std::vector<std::string> got = s.figures, want = expected;
  std::sort(got.begin(), got.end()), std::sort(want.begin(), want.end());
  CHECK(got == want);
  for (const auto& f : s.figures) {
    INFO(f);
    const std::string bytes = slurp_binary(f);
    REQUIRE(bytes.size() > 100);
    if (f.ends_with(".svg")) {
      CHECK(bytes.starts_with("<svg"));
      CHECK(bytes.find("</svg>") != std::string::npos);
    } else {
      CHECK(bytes.starts_with(std::string("\x89PNG\r\n\x1a\n", 8)));
      CHECK(read_png(f).width() == AnalysisConfig{}.figures.map_pixels);
    }
  }
  for (const auto& e : fs::recursive_directory_iterator(d / "study")) {  // no temporary files left behind
    INFO(e.path().string());
    CHECK(e.path().extension() != ".tmp");
  }

  // study_summary.json: conditions in study order, n per condition, the panels' means and intervals.
  std::ifstream sj(s.summary_json);
  const nlohmann::json j = nlohmann::json::parse(sj);
  const auto& c = j["conditions"];
  REQUIRE(c.size() == 4);
  CHECK(c[0]["objective"] == "joint");
  CHECK(c[0]["alpha"] == 0.5);
  CHECK(c[0]["n_seeds"] == 2);
  CHECK(c[1]["alpha"] == 1.0);
  CHECK(c[1]["n_seeds"] == 2);
  CHECK(c[2]["objective"] == "contrastive");
  CHECK(c[2]["n_seeds"] == 1);
  CHECK(c[3]["objective"] == "spatial");
  CHECK(c[3]["n_seeds"] == 1);
  CHECK(c[0]["seeds"] == nlohmann::json::array({1, 2}));
  const std::string key = "tuning.selective_medians.dsi";
  const double m1 = metric_at(read_metrics(runs[1]), key), m2 = metric_at(read_metrics(runs[4]), key);
  const auto& js = c[0]["metrics"][key];
  CHECK(js["n"] == 2);
  CHECK(js["mean"].get<double>() == Approx((m1 + m2) / 2));
  CHECK(js["ci95_half_width"].get<double>() == Approx(student_t975(1) * std::abs(m1 - m2) / std::sqrt(2.0) / std::sqrt(2.0)));
  CHECK(js["ci95_low"].get<double>() == Approx(js["mean"].get<double>() - js["ci95_half_width"].get<double>()));
  CHECK(c[2]["metrics"][key]["ci95_half_width"].is_null());  // one seed: no interval
  CHECK(c[2]["metrics"][key]["ci95_low"].is_null());
  CHECK(c[2]["metrics"][key]["mean"].get<double>() == Approx(metric_at(read_metrics(runs[2]), key)));
  CHECK(c[3]["metrics"]["map.pinwheels.density_per_mm2"]["n"] == 0);  // the spatial run has no map
  CHECK(c[3]["metrics"]["map.pinwheels.density_per_mm2"]["mean"].is_null());

  // The panel draws the same numbers: one series per objective, joint first.
  std::vector<nlohmann::json> metrics;
  for (const auto& r : runs) metrics.push_back(read_metrics(r));
  const Plot p = sweep_plot_by_objective(metrics, sweep_metrics()[3]);
  REQUIRE(p.series.size() == 3);
  REQUIRE(p.series[0].x == std::vector<double>{0.5, 1.0});
  CHECK(p.series[0].y[0] == Approx(js["mean"].get<double>()));
  CHECK(p.series[0].err[0] == Approx(js["ci95_half_width"].get<double>()));
  fs::remove_all(d);
}
