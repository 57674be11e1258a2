#pragma once
// `mtmap bench`: the CPU backend against PyTorch on the same machine, in one run, with the same
// thread count. conv3d fprop / dgrad / wgrad on the r3d-18 layer shapes at the quickstart scale,
// and a full training step (forward, backward, SGD) in clips/s.
#include <cstdint>
#include <ostream>
#include <string>

namespace mtmap::bench {

struct CpuBenchConfig {
  int threads = 0;  // 0: every core
  int reps = 5;
  int64_t width = 16, frames = 8, size = 64, batch = 16;
  bool peer = true;                 // run tools/torch_bench.py too
  std::string python = "/usr/bin/python3";
  std::string tools_dir;            // where torch_bench.py lives
  bool layers = true;               // per-layer conv3d numbers (else the training step only)
  int rounds = 3;                   // training-step rounds, ours and the peer's alternating
  bool moco = true;                 // also the whole MoCo training step (bench/moco_bench.h)
  int64_t queue = 4096;             // its queue length
};

// Prints JSON lines (one per measurement, units in the field names) to `json`, and a summary
// table to `table`. Returns false when the peer was asked for but could not run.
// Median seconds of one training step (forward, backward through a random projection of the
// embedding, SGD) of the ResNet at the config's width, clip size and batch, on the CPU.
double train_step_seconds(const CpuBenchConfig& config);

bool run_cpu_bench(const CpuBenchConfig& config, std::ostream& json, std::ostream& table);

}  // namespace mtmap::bench
