// `mtmap analyze-map --units FILE`: the map half of the analysis on any table of unit positions (mm)
// and preferred directions (degrees), optionally weighted, as CSV or .npy — model layers and maps
// measured in animals alike.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "analysis/map_analysis.h"
#include "analysis/report.h"
#include "analysis/run_output.h"
#include "analysis/unit_table.h"
#include "tools/cli/analysis_options.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {

void add_analyze_map_command(CLI::App& app) {
  struct Args {
    std::string units;
    bool drop_nan = false;
    AnalysisOptions opt;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "analyze-map",
      "Direction map, pinwheels, density, column spacing, Δ histogram and figures from a unit table. Columns: x_mm, "
      "y_mm, preferred_direction_deg, optional weight (CSV header names, .npy structured fields, or a plain 2-D .npy "
      "in that order)");
  cmd->add_option("--units", args->units, "Unit table (.csv or .npy)")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--drop-nan", args->drop_nan, "Skip units with a non-finite position, direction or weight");
  args->opt.add_to(cmd);
  cmd->callback([args] {
    const analysis::AnalysisConfig cfg = args->opt.resolve();
    int dropped = 0;
    const analysis::MapUnits units = analysis::read_map_units(args->units, args->drop_nan, &dropped);
    const analysis::MapResult r = analysis::analyze_map(units, cfg);
    const nlohmann::json inputs = {{"units", std::filesystem::absolute(args->units).string()},
                                   {"units_used", units.size()},
                                   {"units_dropped_nonfinite", dropped}};
    analysis::write_run(args->opt.out_dir, cfg, inputs, nullptr, nullptr, nullptr, &r);
    const auto& p = r.pinwheels;
    fmt::print("units: {} ({} dropped), extent {:.3g} × {:.3g} mm\n", units.size(), dropped, r.extent_x_mm, r.extent_y_mm);
    fmt::print("pinwheels: {} (+{}, -{}); zero-crossing check: +{} -{}, {} matched\n", p.n_positive + p.n_negative,
               p.n_positive, p.n_negative, p.zc_positive, p.zc_negative, p.matched);
    fmt::print("analysed area: {:.4g} mm2, density: {:.4g} per mm2, lambda: {:.4g} mm, per lambda2: {:.4g}\n",
               p.analysed_area_mm2, p.density_per_mm2, r.spectrum.lambda_mm, r.density_per_lambda2);
    fmt::print("mean |delta| to neighbours: {:.3g} deg (shuffled {:.3g} deg)\n", r.delta.mean_delta_deg,
               r.delta.mean_delta_shuffled_deg);
    if (args->opt.report) {
      const std::string html = (std::filesystem::path(args->opt.out_dir) / "report.html").string();
      analysis::build_report({args->opt.out_dir}, html, "mtmap map analysis");
      fmt::print("report: {}\n", html);
    }
    fmt::print("wrote {}\n", args->opt.out_dir);
  });
}

}  // namespace mtmap::cli
