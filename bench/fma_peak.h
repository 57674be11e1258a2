#pragma once
// The CPU's measured FMA peak (GFLOP/s, a fused multiply-add counting 2) on `threads` threads:
// independent FMA chains in registers, the widest vector unit the CPU reports (AVX-512, AVX2 or SSE).
#include <string>

namespace mtmap::bench {

struct FmaPeak {
  double gflops = 0;
  std::string isa;
  int threads = 1;
};

FmaPeak measure_fma_peak(int threads);

}  // namespace mtmap::bench
