#pragma once
// The spatial-correlation loss (docs/model.md §5): nearby units on the cortical sheet should
// respond alike. Differentiable in the responses; positions are constants (fixed during training).
#include "engine/tensor/tensor.h"
#include "kernels/common/spatial_loss.h"

namespace mtmap::losses {

using SpatialLossForm = ::mtmap::SpatialLossForm;

// Parses "relative" / "absolute" (throws naming the bad value).
SpatialLossForm parse_spatial_loss_form(const std::string& name);

// positions (M, 2) in mm → (M, M) with 1 / (d_ij + 1), d the Euclidean distance. Any device.
Tensor inverse_distance(const Tensor& positions);

// x (B, M): responses of the window's M units over a batch of B; target (M, M) = inverse_distance.
// Relative: R = Pearson correlations across the batch (divisor B − 1, zero std → 1, clamp [−1, 1]),
// r = Pearson of the strict lower triangles of R and target, loss = (1 − r)/2. Absolute: mean over
// i > j of |R_ij − target_ij|. A scalar of x's dtype, differentiable in x (hand-written backward).
Tensor spatial_loss(const Tensor& x, const Tensor& target, SpatialLossForm form = SpatialLossForm::relative);

// block (N, C, T, H, W) → (N, C·H·W): the output averaged over T, unit u = c·H·W + h·W + w.
Tensor unit_responses(const Tensor& block);

// The whole training-time path for one layer and one window: average the block over T, gather the
// window's units (window: (M) i64 unit indices), their positions from positions (U, 2), and the loss.
// Differentiable back into the block output.
Tensor block_spatial_loss(const Tensor& block, const Tensor& window, const Tensor& positions,
                          SpatialLossForm form = SpatialLossForm::relative);

}  // namespace mtmap::losses
