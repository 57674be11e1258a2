// `mtmap bench`: kernel and training-step benchmarks against PyTorch on the same machine.
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench/cpu_bench.h"
#include "formats/atomic_file.h"
#include "bench/losses_bench.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {

void add_bench_command(CLI::App& app) {
  auto config = std::make_shared<bench::CpuBenchConfig>();
  auto json_path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("bench", "CPU conv3d and training-step benchmarks against PyTorch (same run, same threads)");
  cmd->add_option("--threads", config->threads, "threads for both (0: every core)");
  cmd->add_option("--reps", config->reps, "timed repetitions (median reported)")->check(CLI::PositiveNumber);
  cmd->add_option("--rounds", config->rounds, "training-step rounds, ours and the peer's alternating (median ratio)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--width", config->width, "ResNet width")->check(CLI::PositiveNumber);
  cmd->add_option("--frames", config->frames, "clip frames")->check(CLI::PositiveNumber);
  cmd->add_option("--size", config->size, "clip height and width")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", config->batch, "clips per batch")->check(CLI::PositiveNumber);
  cmd->add_flag("!--no-peer", config->peer, "skip the PyTorch peer");
  cmd->add_flag("!--step-only", config->layers, "only the training step");
  cmd->add_flag("!--no-moco", config->moco, "skip the whole MoCo training step");
  cmd->add_option("--queue", config->queue, "queue length of the MoCo step")->check(CLI::PositiveNumber);
  cmd->add_option("--python", config->python, "interpreter with PyTorch");
  cmd->add_option("--json", *json_path, "also write the JSON lines to this file");
  auto losses = std::make_shared<bench::LossesBenchConfig>();
  auto losses_json = std::make_shared<std::string>();
  CLI::App* sub = cmd->add_subcommand(
      "losses", "spatial loss and InfoNCE forward+backward (CPU, and GPU where present), their fraction of a CPU "
                "training step, swap optimisation attempts/s");
  sub->add_option("--threads", losses->step.threads, "CPU threads (0: every core)");
  sub->add_option("--reps", losses->step.reps, "timed repetitions (median reported)")->check(CLI::PositiveNumber);
  sub->add_option("--batch", losses->batch, "responses per window and InfoNCE rows (preprint: 256)")->check(CLI::PositiveNumber);
  sub->add_option("--window-units", losses->window_units, "units per window M (preprint: 500)")->check(CLI::PositiveNumber);
  sub->add_option("--queue", losses->queue, "InfoNCE queue length K")->check(CLI::PositiveNumber);
  sub->add_option("--step-width", losses->step.width, "ResNet width of the training step divided by")->check(CLI::PositiveNumber);
  sub->add_option("--step-frames", losses->step.frames, "clip frames of that step")->check(CLI::PositiveNumber);
  sub->add_option("--step-size", losses->step.size, "clip height and width of that step")->check(CLI::PositiveNumber);
  sub->add_option("--step-batch", losses->step.batch, "clips per batch of that step")->check(CLI::PositiveNumber);
  sub->add_option("--swap-windows", losses->swap_windows, "windows of the swap-rate measurement")->check(CLI::PositiveNumber);
  sub->add_option("--swap-channels", losses->swap_channels, "channels of the swap layer (C × 14 × 14 units; 256: the 50,176-unit layer3)")->check(CLI::PositiveNumber);
  sub->add_flag("!--no-gpu", losses->gpu, "CPU only even where a GPU is present");
  sub->add_option("--json", *losses_json, "also write the JSON lines to this file");
  sub->callback([losses, losses_json] {
    // The JSON lines go to the file whole, at the end (never a partial file under its name).
    std::ostringstream lines;
    bench::run_losses_bench(*losses, losses_json->empty() ? std::cout : lines, std::cout);
    if (!losses_json->empty()) formats::write_file_atomic(*losses_json, lines.str());
  });
  cmd->callback([config, json_path, cmd, sub] {
    if (cmd->got_subcommand(sub)) return;
    config->tools_dir = MTMAP_TOOLS_DIR;
    // JSON lines as they are measured (on stdout), or into --json whole at the end; the summary
    // table last.
    std::ostringstream lines, table;
    std::ostream& json = json_path->empty() ? std::cout : lines;
    bool ok = bench::run_cpu_bench(*config, json, table);
    json.flush();
    if (!json_path->empty()) formats::write_file_atomic(*json_path, lines.str());
    std::cout << table.str();
    if (!ok) throw CLI::RuntimeError("the PyTorch peer did not run", 2);
  });
}

}  // namespace mtmap::cli
