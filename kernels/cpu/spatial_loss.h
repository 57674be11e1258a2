#pragma once
// The spatial-correlation loss on the CPU (f32 and f64 inputs; every sum accumulated in double,
// in a fixed order, so results do not depend on the thread count).
#include <cstdint>

#include "kernels/common/dtype.h"
#include "kernels/common/spatial_loss.h"

namespace mtmap::cpu {

struct SpatialLossValue {
  double loss = 0;  // (1 − r)/2 (relative) or mean |R_ij − target_ij| (absolute)
  double r = 0;     // Pearson(v, u) of the strict lower triangles (relative form; 0 when undefined)
};

SpatialLossValue spatial_loss_forward(DType t, const SpatialLossParams& p, const void* x, const void* target);
// dx (B, M), contiguous; grad: dLoss.
void spatial_loss_backward(DType t, const SpatialLossParams& p, const void* x, const void* target, double grad,
                           void* dx);

}  // namespace mtmap::cpu
