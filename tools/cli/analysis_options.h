#pragma once
// Options shared by the analysis subcommands: the config file and the run labels (α, seed,
// objective) that the cross-run report groups by. Flags override the config's "run" section and
// the resolved config, with them, is what the outputs record.
#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "analysis/config.h"

namespace mtmap::cli {

struct AnalysisOptions {
  std::string config_path;
  std::string out_dir = "analysis_out";
  std::optional<double> alpha;
  std::optional<int> seed;
  std::string label, objective;
  bool report = false;

  void add_to(CLI::App* cmd);
  analysis::AnalysisConfig resolve() const;
};

}  // namespace mtmap::cli
