#pragma once
// CUDA launchers of the spatial-correlation loss (f32 and f64; internal sums in double, in a fixed
// order: no atomics). Raw device pointers, a params struct, a stream; nothing is synchronised.
#include <cstddef>

#include "kernels/common/dtype.h"
#include "kernels/common/spatial_loss.h"
#include "kernels/cuda/dialect.h"

namespace mtmap::cuda {

// Spatial loss of one window: column statistics and standardised Zᵀ, lower-triangle correlations
// (tiled), one single-block reduction over the pairs, and in backward the pair gradient G, the
// tiled product G·Zᵀ and the per-column standardisation backward.
size_t spatial_loss_workspace_bytes(const SpatialLossParams& p);
// loss: one element of dtype t; r (optional, may be null): one double on the device.
void spatial_loss_forward(DType t, const SpatialLossParams& p, const void* x, const void* target, void* loss, double* r,
                          void* workspace, cudaStream_t stream);
// dx (B, M) contiguous.
void spatial_loss_backward(DType t, const SpatialLossParams& p, const void* x, const void* target, const void* grad,
                           void* dx, void* workspace, cudaStream_t stream);

}  // namespace mtmap::cuda
