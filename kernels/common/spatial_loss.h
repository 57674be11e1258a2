#pragma once
// The problem struct of the spatial-correlation loss, shared by the CPU and CUDA kernels.
#include <cstdint>

namespace mtmap {

enum class SpatialLossForm : int { relative = 0, absolute = 1 };

// Spatial-correlation loss of one window: x (B, M) responses, row stride ldx (≥ M); target (M, M)
// row-major, target_ij = 1/(d_ij + 1). See docs/losses.md and docs/model.md §5.
struct SpatialLossParams {
  int64_t B = 0, M = 0;
  int64_t ldx = 0;
  SpatialLossForm form = SpatialLossForm::relative;
};

}  // namespace mtmap
