#include "tools/cli/analysis_options.h"

#include "study/experiment_file.h"

namespace mtmap::cli {

void AnalysisOptions::add_to(CLI::App* cmd) {
  cmd->add_option("--config", config_path,
                  "Analysis config JSON (unknown keys are rejected); defaults: docs/measurements.md")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", out_dir, "Output run folder")->capture_default_str();
  cmd->add_option("--alpha", alpha, "Spatial-loss weight α of the analysed run (for the cross-run report)");
  cmd->add_option("--seed", seed, "Seed of the analysed run (for the cross-run report)");
  cmd->add_option("--label", label, "Run label shown in the report");
  cmd->add_option("--objective", objective, "Training objective of the run (e.g. joint, contrastive, spatial)");
  cmd->add_flag("--report", report, "Also write report.html into the output folder");
}

analysis::AnalysisConfig AnalysisOptions::resolve() const {
  // An experiment file's training sections are training's; the rest is checked here.
  analysis::AnalysisConfig c = config_path.empty()
                                   ? analysis::AnalysisConfig{}
                                   : analysis::config_from_json(study::read_experiment(config_path).analysis, config_path);
  if (alpha) c.run.alpha = alpha;
  if (seed) c.run.seed = seed;
  if (!label.empty()) c.run.label = label;
  if (!objective.empty()) c.run.objective = objective;
  analysis::validate(c);
  return c;
}

}  // namespace mtmap::cli
