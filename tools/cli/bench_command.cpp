// `mtmap bench`: kernel and training-step benchmarks against PyTorch on the same machine.
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench/cpu_bench.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {

void add_bench_command(CLI::App& app) {
  auto config = std::make_shared<bench::CpuBenchConfig>();
  auto json_path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("bench", "CPU conv3d and training-step benchmarks against PyTorch (same run, same threads)");
  cmd->add_option("--threads", config->threads, "threads for both (0: every core)");
  cmd->add_option("--reps", config->reps, "timed repetitions (median reported)")->check(CLI::PositiveNumber);
  cmd->add_option("--width", config->width, "ResNet width")->check(CLI::PositiveNumber);
  cmd->add_option("--frames", config->frames, "clip frames")->check(CLI::PositiveNumber);
  cmd->add_option("--size", config->size, "clip height and width")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", config->batch, "clips per batch")->check(CLI::PositiveNumber);
  cmd->add_flag("!--no-peer", config->peer, "skip the PyTorch peer");
  cmd->add_flag("!--step-only", config->layers, "only the training step");
  cmd->add_option("--python", config->python, "interpreter with PyTorch");
  cmd->add_option("--json", *json_path, "also write the JSON lines to this file");
  cmd->callback([config, json_path] {
    config->tools_dir = MTMAP_TOOLS_DIR;
    std::ofstream file;
    if (!json_path->empty()) {
      file.open(*json_path);
      if (!file) throw CLI::ValidationError("--json", "cannot open " + *json_path);
    }
    std::ostream& json = json_path->empty() ? std::cout : file;
    // JSON lines as they are measured, the summary table last.
    std::ostringstream table;
    bool ok = bench::run_cpu_bench(*config, json, table);
    json.flush();
    std::cout << table.str();
    if (!ok) throw CLI::RuntimeError("the PyTorch peer did not run", 2);
  });
}

}  // namespace mtmap::cli
