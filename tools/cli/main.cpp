// The mtmap command-line program. Errors from the engine reach the user as one line naming the
// culprit, with exit status 1.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <exception>

#include "engine/core/error.h"
#include "engine/core/memory_policy.h"
#include "tools/cli/commands.h"

int main(int argc, char** argv) {
  // Training and benchmarks free and reallocate the same large blocks every step: keep them in the
  // heap rather than unmapping them (engine/core/memory_policy.h).
  mtmap::retain_freed_cpu_memory();
  CLI::App app{"mtmap: train and analyse topographic models of visual area MT"};
  app.require_subcommand(1);
  mtmap::cli::add_info_command(app);
  mtmap::cli::add_bench_command(app);
  mtmap::cli::add_data_command(app);
  mtmap::cli::add_analyze_map_command(app);
  mtmap::cli::add_analyze_responses_command(app);
  mtmap::cli::add_analyze_report_command(app);
  mtmap::cli::add_analyze_command(app);
  mtmap::cli::add_init_checkpoint_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const mtmap::Error& e) {
    fmt::print(stderr, "mtmap: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "mtmap: unexpected error: {}\n", e.what());
    return 1;
  }
  return 0;
}
