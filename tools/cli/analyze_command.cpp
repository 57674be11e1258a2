// `mtmap analyze --checkpoint C`: probe a model's block (default layer3.1, the MT-like one) with
// drifting gratings and run the whole tuning and map analysis on its units
// (analysis/checkpoint_analysis.h). Flags override the config's probe section.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "analysis/probe/checkpoint_analysis.h"
#include "engine/core/progress.h"
#include "tools/cli/analysis_options.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {

void add_analyze_command(CLI::App& app) {
  struct Args {
    std::string checkpoint, sheet, layer, device;
    int batch_size = 0;
    std::string progress = "auto";
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
  cmd->add_option("--progress", args->progress,
                  "Progress display: auto (a live bar on a terminal), bar or lines (one every 5 s)")
      ->check(CLI::IsMember({"auto", "bar", "lines"}))
      ->capture_default_str();
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
    // The probe's progress and the messages on stdout, flushed as they come (also when piped).
    ProgressLine progress(stdout, 5.0, args->progress == "auto" ? -1 : args->progress == "bar" ? 1 : 0);
    o.progress = &progress;
    const analysis::CheckpointAnalysisSummary s = analysis::analyze_checkpoint(o);
    // Messages: the first ends the probe's live line.
    progress.message(fmt::format("units: {}, responsive: {}, selective: {}", s.units, s.responsive, s.selective));
    progress.message(fmt::format("probe: {} clips in {} batches, {:.2f} s; total {:.2f} s{}", s.clips, s.batches,
                                 s.probe_seconds, s.total_seconds,
                                 s.map ? "" : " (no direction map: no sheet positions)"));
    if (o.report) progress.message(fmt::format("report: {}/report.html", o.out_dir));
    progress.message(fmt::format("wrote {}", o.out_dir));
  });
}

}  // namespace mtmap::cli
