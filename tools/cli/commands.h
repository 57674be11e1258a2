#pragma once
// Each subcommand of the mtmap program registers itself on the CLI11 app.
#include <CLI/CLI.hpp>

#include <memory>

#include "engine/dist/communicator.h"
#include "engine/dist/launch.h"

namespace mtmap::cli {

// The process's place in a job started by mpirun or srun (docs/distributed.md): set up by main()
// before any command runs; `world` is null for a single process.
struct Job {
  dist::LaunchInfo launch;
  std::unique_ptr<dist::Communicator> world;
};
Job& job();
// CPU threads for each rank of a parallel job: the cores this process may run on, shared by the ranks
// of its node (0 outside a parallel job: the config's choice stands).
int rank_threads();

void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_analyze_map_command(CLI::App& app);
void add_analyze_responses_command(CLI::App& app);
void add_analyze_report_command(CLI::App& app);
void add_analyze_command(CLI::App& app);
void add_init_checkpoint_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_run_command(CLI::App& app);

}  // namespace mtmap::cli
