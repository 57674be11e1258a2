// `mtmap analyze-responses`: analysis::analyze_response_files (the per-unit and population
// analysis of a saved response array, plus the map half when unit positions are given) from the
// command line, and a summary of what it found.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "analysis/report.h"
#include "analysis/response_files.h"
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
    const analysis::ResponseFilesResult res =
        analysis::analyze_response_files({args->responses, args->baseline, args->positions}, cfg, args->opt.out_dir);
    const auto& p = res.tuning.population;
    fmt::print("units: {}, responsive: {}, selective: {} ({:.3g} of all)\n", p.n_units, p.n_responsive, p.n_selective,
               p.fraction_selective);
    fmt::print("selective medians: DSI {:.3g}, DI {:.3g}, CV {:.3g}, FWHM {:.3g} deg, CV bandwidth {:.3g} deg\n",
               p.selective.dsi, p.selective.di, p.selective.cv_dir, p.selective.fwhm_deg, p.selective.cv_bandwidth_deg);
    fmt::print("PTC: FWHM {:.3g} deg, A180 {:.3g}\n", p.ptc_fwhm_deg, p.ptc_a180);
    if (res.map)
      fmt::print("pinwheels: {} (+{}, -{}), density {:.4g} per mm2, lambda {:.4g} mm\n",
                 res.map->pinwheels.n_positive + res.map->pinwheels.n_negative, res.map->pinwheels.n_positive,
                 res.map->pinwheels.n_negative, res.map->pinwheels.density_per_mm2, res.map->spectrum.lambda_mm);
    if (args->opt.report) {
      const std::string html = (std::filesystem::path(args->opt.out_dir) / "report.html").string();
      analysis::build_report({args->opt.out_dir}, html, "mtmap tuning analysis");
      fmt::print("report: {}\n", html);
    }
    fmt::print("wrote {}\n", args->opt.out_dir);
  });
}

}  // namespace mtmap::cli
