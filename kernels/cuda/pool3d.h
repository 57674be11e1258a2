#pragma once
// CUDA launchers of 3D pooling (f32, f64, bf16). Raw device pointers, the shape struct the CPU
// kernels use, a stream; nothing is synchronised. The gradients gather in a fixed order (the
// CPU's): bit-identical in f32 and f64.
#include "kernels/cuda/dialect.h"

#include <cstdint>

#include "kernels/common/dtype.h"
#include "kernels/common/pool3d.h"

namespace mtmap::cuda {

// Max pooling; argmax per output as the CPU kernel (flat index in the plane, first on ties, NaN
// wins, -1 never happens for a legal shape since padding ≤ kernel/2).
void max_pool3d(DType t, const Pool3dShape& s, const void* x, void* y, int64_t* argmax, cudaStream_t stream);
// dx written whole (no memset needed): each input element gathers the dy of the windows whose
// argmax is itself, in increasing output order (the CPU's order: bit-identical in f32 and f64).
void max_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, const int64_t* argmax, void* dx,
                         cudaStream_t stream);
// Adaptive average pooling: cell i covers [floor(i·In/Out), ceil((i+1)·In/Out)); sums in double.
void adaptive_avg_pool3d(DType t, const Pool3dShape& s, const void* x, void* y, cudaStream_t stream);
// dx written whole, each element gathering its cells in increasing order (the CPU's order).
void adaptive_avg_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, void* dx, cudaStream_t stream);

}  // namespace mtmap::cuda
