#pragma once
// 3D pooling on the CPU over (N·C, D, H, W) planes.
#include <cstdint>

#include "kernels/common/dtype.h"
#include "kernels/common/pool3d.h"

namespace mtmap::cpu {

using mtmap::Pool3dShape;

// Max pooling; `argmax` receives, per output, the flat (d·H + h)·W + w index of the winner in its
// plane (the first one on ties). Padding never wins.
void max_pool3d(DType t, const Pool3dShape& s, const void* x, void* y, int64_t* argmax);
// dx = 0, then dx[argmax[o]] += dy[o], outputs in order (deterministic).
void max_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, const int64_t* argmax, void* dx);

// Adaptive average pooling: output cell i covers input [floor(i·In/Out), ceil((i+1)·In/Out)).
void adaptive_avg_pool3d(DType t, const Pool3dShape& s, const void* x, void* y);
void adaptive_avg_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, void* dx);

}  // namespace mtmap::cpu
