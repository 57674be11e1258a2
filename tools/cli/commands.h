#pragma once
// Each subcommand of the mtmap program registers itself on the CLI11 app.
#include <CLI/CLI.hpp>

namespace mtmap::cli {

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
