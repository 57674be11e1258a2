#pragma once
// The whole training step of docs/training.md (query forward and backward, key forward, InfoNCE,
// the spatial loss on every sheet block, EMA, SGD, queue update) at a benchmark scale, on the CPU
// or a GPU: median seconds and where they go, phase by phase (on a GPU each phase waits for the
// device, so the median step is taken from untimed steps).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/device.h"

namespace mtmap::bench {

struct MocoBenchConfig {
  int64_t width = 16, frames = 8, size = 64, batch = 16;
  int64_t queue = 4096;
  double alpha = 0.5;  // on all 8 blocks, with the preprint's sheets
  int reps = 5;
  Device device = Device::cpu();  // cuda: f32 with TF32 convolutions, as training runs there …
  std::string precision = "f32";  // … or "bf16": training.precision (cuda only)
};

struct MocoBenchResult {
  double seconds = 0;                                        // median step
  std::vector<std::pair<std::string, double>> phases;        // median seconds per phase
  std::vector<std::pair<std::string, int64_t>> window_units;  // M of each block's windows
};

MocoBenchResult run_moco_bench(const MocoBenchConfig& c);

}  // namespace mtmap::bench
