#pragma once
// The problem struct of the InfoNCE loss, shared by the CPU and CUDA kernels.
#include <cstdint>

namespace mtmap {

// InfoNCE in MoCo form: logits_i = [q_i·k_i, q_i·queue_j (j < K)] / T, cross-entropy with the
// positive at index 0, averaged over the N rows. q, k (N, D); queue (K, D); all row-major.
struct InfoNceParams {
  int64_t N = 0, D = 0, K = 0;
  double inv_temperature = 5.0;  // 1 / T (T = 0.2, MoCo v2)
};

}  // namespace mtmap
