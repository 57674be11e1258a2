// `mtmap analyze --checkpoint C`: probe a model's block (default layer3.1, the MT-like one) with
// drifting gratings and run the whole tuning and map analysis on its units
// (analysis/checkpoint_analysis.h). Flags override the config's probe section.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "analysis/probe/checkpoint_analysis.h"
#include "tools/cli/analysis_options.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {

void add_analyze_command(CLI::App& app) {
  struct Args {
    std::string checkpoint, sheet, layer, device;
    int batch_size = 0;
    AnalysisOptions opt;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "analyze",
      "Probe a model checkpoint's block with drifting gratings; tuning metrics, population tuning and the "
      "direction map of its units");
  cmd->add_option("--checkpoint", args->checkpoint, "Model checkpoint (.safetensors; see mtmap init-checkpoint)")
      ->required();
  cmd->add_option("--sheet", args->sheet,
                  "Unit positions from this safetensors file (a sheet file or another checkpoint) instead of the "
                  "checkpoint's own");
  cmd->add_option("--layer", args->layer, "Block to probe (overrides probe.layer; default layer3.1)");
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N (overrides probe.device)");
  cmd->add_option("--batch-size", args->batch_size, "Clips per forward pass (overrides probe.batch_size)");
  args->opt.add_to(cmd);
  cmd->callback([args] {
    analysis::CheckpointAnalysisOptions o;
    o.config = args->opt.resolve();
    if (!args->layer.empty()) o.config.probe.layer = args->layer;
    if (!args->device.empty()) o.config.probe.device = args->device;
    if (args->batch_size != 0) o.config.probe.batch_size = args->batch_size;
    o.config_origin = args->opt.config_path.empty() ? "config" : args->opt.config_path;
    o.checkpoint = args->checkpoint;
    o.sheet = args->sheet;
    o.out_dir = args->opt.out_dir;
    o.report = args->opt.report;
    o.log = [](const std::string& line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);  // progress must show while the probe runs, also when piped
    };
    const analysis::CheckpointAnalysisSummary s = analysis::analyze_checkpoint(o);
    fmt::print("units: {}, responsive: {}, selective: {}\n", s.units, s.responsive, s.selective);
    fmt::print("probe: {} clips in {} batches, {:.2f} s; total {:.2f} s{}\n", s.clips, s.batches, s.probe_seconds,
               s.total_seconds, s.map ? "" : " (no direction map: no sheet positions)");
    if (o.report) fmt::print("report: {}/report.html\n", o.out_dir);
    fmt::print("wrote {}\n", o.out_dir);
  });
}

}  // namespace mtmap::cli
