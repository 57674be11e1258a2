// `mtmap info`: version, backends compiled in, devices found, and what this build can do.
#include <fmt/format.h>

#include "engine/core/device_support.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {

void add_info_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("info", "Print the version, the backends compiled in and the devices found");
  cmd->callback([] {
    fmt::print("mtmap {}\n", MTMAP_VERSION);
    fmt::print("backends compiled in: cpu{}\n", cuda_built() ? ", cuda" : "");
    fmt::print("devices:\n  cpu\n");
    int n = cuda_device_count();
    for (int i = 0; i < n; ++i) fmt::print("  cuda:{}  {}\n", i, cuda_device_name(i));
    if (cuda_built() && n == 0) fmt::print("  (CUDA backend built, but no CUDA device or driver found)\n");
  });
}

}  // namespace mtmap::cli
