#pragma once
// Broadcasting rules (NumPy's): shapes aligned on the right, size-1 axes stretch.
#include "engine/tensor/tensor.h"

namespace mtmap {

// The broadcast shape of a and b; throws naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// A zero-copy view of t with shape `shape` (stride 0 on stretched axes). No autograd.
Tensor broadcast_to(const Tensor& t, const Shape& shape, const char* op);
// Sums g down to `shape` (the reverse of broadcasting): the backward of every broadcasting op.
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

}  // namespace mtmap
