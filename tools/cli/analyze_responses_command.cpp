// `mtmap analyze-responses`: the per-unit and population analysis from a saved response array
// (units × directions × SF × TF × phases, .npy) and grey-baseline responses, plus the map half when
// unit positions are given. `mtmap analyze --checkpoint` will produce the same arrays from a model;
// this command runs the identical code on arrays from anywhere (synthetic data, recordings).
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "analysis/map_analysis.h"
#include "formats/npy.h"
#include "analysis/report.h"
#include "analysis/responses.h"
#include "analysis/run_output.h"
#include "analysis/unit_table.h"
#include "engine/core/error.h"
#include "tools/cli/analysis_options.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {

void add_analyze_responses_command(CLI::App& app) {
  struct Args {
    std::string responses, baseline, positions;
    AnalysisOptions opt;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "analyze-responses", "Tuning metrics, population tuning curve and (with --positions) the direction map from a "
                           "response array");
  cmd->add_option("--responses", args->responses, ".npy array (units, directions, SF, TF, phases), time-averaged")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--baseline", args->baseline, ".npy array (units): responses to the uniform grey clip")
      ->check(CLI::ExistingFile);
  cmd->add_option("--positions", args->positions, "Unit positions on the sheet (.csv or .npy with x_mm, y_mm), one row per unit")
      ->check(CLI::ExistingFile);
  args->opt.add_to(cmd);
  cmd->callback([args] {
    const analysis::AnalysisConfig cfg = args->opt.resolve();
    const formats::NpyArray a = formats::read_npy(args->responses);
    MTMAP_CHECK(a.fields.empty() && a.shape.size() == 5,
                "{}: need a plain 5-D array (units, directions, SF, TF, phases), got {} dimensions", args->responses,
                a.shape.size());
    analysis::ResponseArray r;
    r.units = int(a.shape[0]), r.directions = int(a.shape[1]), r.sfs = int(a.shape[2]), r.tfs = int(a.shape[3]),
    r.phases = int(a.shape[4]);
    r.values = a.data;
    std::vector<double> baseline;
    if (!args->baseline.empty()) {
      const formats::NpyArray b = formats::read_npy(args->baseline);
      MTMAP_CHECK(b.fields.empty(), "{}: need a plain array of {} baseline responses", args->baseline, r.units);
      baseline = b.data;
    }
    MTMAP_CHECK(!cfg.tuning.subtract_baseline || !baseline.empty(),
                "tuning.subtract_baseline is on (the default): give --baseline, or set it to false in --config");
    const analysis::TuningResult t = analysis::analyze_responses(r, baseline, cfg.tuning);
    nlohmann::json inputs = {{"responses", std::filesystem::absolute(args->responses).string()},
                             {"shape", a.shape},
                             {"baseline", args->baseline.empty() ? "" : std::filesystem::absolute(args->baseline).string()}};
    const auto& p = t.population;
    fmt::print("units: {}, responsive: {}, selective: {} ({:.3g} of all)\n", p.n_units, p.n_responsive, p.n_selective,
               p.fraction_selective);
    fmt::print("selective medians: DSI {:.3g}, DI {:.3g}, CV {:.3g}, FWHM {:.3g} deg, CV bandwidth {:.3g} deg\n",
               p.selective.dsi, p.selective.di, p.selective.cv_dir, p.selective.fwhm_deg, p.selective.cv_bandwidth_deg);
    fmt::print("PTC: FWHM {:.3g} deg, A180 {:.3g}\n", p.ptc_fwhm_deg, p.ptc_a180);
    if (args->positions.empty()) {
      analysis::write_run(args->opt.out_dir, cfg, inputs, &t, nullptr, nullptr, nullptr);
    } else {
      analysis::Table pos = args->positions.size() > 4 && args->positions.ends_with(".npy")
                                ? analysis::read_npy_table(args->positions, {"x_mm", "y_mm"})
                                : analysis::read_csv(args->positions);
      const auto* x = pos.find("x_mm");
      const auto* y = pos.find("y_mm");
      MTMAP_CHECK(x && y, "{}: need columns x_mm and y_mm (columns: {})", args->positions, fmt::join(pos.names, ", "));
      MTMAP_CHECK(pos.rows() == size_t(r.units), "{}: {} positions for {} units", args->positions, pos.rows(), r.units);
      for (size_t i = 0; i < pos.rows(); ++i)
        MTMAP_CHECK(std::isfinite((*x)[i]) && std::isfinite((*y)[i]), "{}: row {} (unit {}) has position ({}, {})",
                    args->positions, i + 1, i, (*x)[i], (*y)[i]);
      inputs["positions"] = std::filesystem::absolute(args->positions).string();
      const analysis::MapResult m = analysis::analyze_map(analysis::map_units_from_tuning(t, *x, *y), cfg);
      analysis::write_run(args->opt.out_dir, cfg, inputs, &t, x, y, &m);
      fmt::print("pinwheels: {} (+{}, -{}), density {:.4g} per mm2, lambda {:.4g} mm\n",
                 m.pinwheels.n_positive + m.pinwheels.n_negative, m.pinwheels.n_positive, m.pinwheels.n_negative,
                 m.pinwheels.density_per_mm2, m.spectrum.lambda_mm);
    }
    if (args->opt.report) {
      const std::string html = (std::filesystem::path(args->opt.out_dir) / "report.html").string();
      analysis::build_report({args->opt.out_dir}, html, "mtmap tuning analysis");
      fmt::print("report: {}\n", html);
    }
    fmt::print("wrote {}\n", args->opt.out_dir);
  });
}

}  // namespace mtmap::cli
