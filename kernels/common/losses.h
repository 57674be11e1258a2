#pragma once
// Problem structs of the two training losses, shared by the CPU and CUDA kernels.
#include <cstdint>

namespace mtmap {

// InfoNCE in MoCo form: logits_i = [q_i·k_i, q_i·queue_j (j < K)] / T, cross-entropy with the
// positive at index 0, averaged over the N rows. q, k (N, D); queue (K, D); all row-major.
struct InfoNceParams {
  int64_t N = 0, D = 0, K = 0;
  double inv_temperature = 5.0;  // 1 / T (T = 0.2, MoCo v2)
};

enum class SpatialLossForm : int { relative = 0, absolute = 1 };

// Spatial-correlation loss of one window: x (B, M) responses, row stride ldx (≥ M); target (M, M)
// row-major, target_ij = 1/(d_ij + 1). See docs/losses.md and docs/model.md §5.
struct SpatialLossParams {
  int64_t B = 0, M = 0;
  int64_t ldx = 0;
  SpatialLossForm form = SpatialLossForm::relative;
};

}  // namespace mtmap
