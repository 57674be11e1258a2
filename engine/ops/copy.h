#pragma once
// Layout, dtype and device conversions (the Tensor methods contiguous() and to() call these).
#include "engine/tensor/tensor.h"

namespace mtmap {

// Writes src into dst elementwise (same shape, or src broadcastable to dst), converting the dtype;
// dst may be any strided view, on the same device. Records no autograd history.
void copy_into(const Tensor& dst, const Tensor& src);

// Contiguous, dtype-converted copy on the same device (differentiable).
Tensor convert(const Tensor& t, DType dtype, bool force_copy);

// Contiguous copy on another device (differentiable).
Tensor transfer(const Tensor& t, Device device);

}  // namespace mtmap
