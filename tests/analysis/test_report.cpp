// Run folders and the HTML report, built in-process from synthetic runs: files present, numbers and
// settings recorded, reference values cited as docs/measurements.md gives them, sweep intervals
// right.
#include <catch2/catch.hpp>

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
// von Mises tuning of concentration κ.
void make_run(const fs::path& dir, double alpha, int seed, double kappa) {
  const WaveField f = random_waves(20, 0.8, seed);
  ResponseArray r;
  const int side = 30;
  r.units = side * side, r.directions = 16, r.sfs = 1, r.tfs = 1, r.phases = 1;
  std::vector<double> x, y;
  for (int i = 0; i < r.units; ++i) {
    x.push_back((i % side) * 0.08), y.push_back((i / side) * 0.08);
    const double mu = std::arg(f(x.back(), y.back())) * 180 / kPi;
    for (int d = 0; d < 16; ++d) r.values.push_back(0.1 + vm(22.5 * d, mu, kappa));
  }
  AnalysisConfig cfg;
  cfg.run.alpha = alpha, cfg.run.seed = seed, cfg.run.label = "synthetic";
  cfg.run.objective = alpha == 0 ? "contrastive" : "joint";
  cfg.map.smoothing_width_mm = 0.1;
  cfg.map.density_widths_mm = {0.1, 0.2};
  cfg.stats.smoothness_sample_units = 100;
  const TuningResult t = analyze_responses(r, std::vector<double>(r.units, 0.1), cfg.tuning);
  const MapResult m = analyze_map(map_units_from_tuning(t, x, y), cfg);
  write_run(dir.string(), cfg, {{"synthetic", true}}, &t, &x, &y, &m);
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
