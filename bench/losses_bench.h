#pragma once
// `mtmap bench losses`: the topographic losses' cost. Spatial loss forward + backward for each of
// the 8 blocks at the preprint's window (B = 256 responses, M = 500 units drawn in a window of the
// block's neighbourhood width), InfoNCE forward + backward (N = 256, D = 128, K = 65,536), both
// on the CPU and, where the build and machine have one, on the GPU; the same at the bench's
// training-step batch, as a fraction of that step measured in the same run (CPU); and swap
// optimisation attempts/s on a retinotopic layer.
#include <cstdint>
#include <ostream>

#include "bench/cpu_bench.h"

namespace mtmap::bench {

struct LossesBenchConfig {
  CpuBenchConfig step;  // the training step the CPU fraction divides by (width, size, batch, reps)
  int64_t batch = 256, window_units = 500;
  int64_t nce_dim = 128, queue = 65536;
  int64_t swap_channels = 64, swap_side = 14;  // swap layer: C × side × side units (64·14² = 12,544)
  int64_t swap_windows = 2000;
  bool gpu = true;  // also time on cuda:0 when available
};

void run_losses_bench(const LossesBenchConfig& config, std::ostream& json, std::ostream& table);

}  // namespace mtmap::bench
