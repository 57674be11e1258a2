// bench_losses: `mtmap bench losses` as a program of its own, for machines that build without the
// command-line program (tools/device-check.sh on a GPU machine). JSON lines, then the table.
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "bench/losses_bench.h"

int main(int argc, char** argv) {
  mtmap::bench::LossesBenchConfig config;
  config.step.reps = 3;
  config.swap_windows = 200;  // the swap rate, not a full optimisation
  if (argc > 1) config.step.threads = std::atoi(argv[1]);
  std::ostringstream table;
  mtmap::bench::run_losses_bench(config, std::cout, table);
  std::cout << table.str();
  return 0;
}
