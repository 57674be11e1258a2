#pragma once
#include "engine/tensor/tensor.h"

namespace mtmap {

// Along one axis, numerically stable (the row maximum is subtracted first).
Tensor softmax(const Tensor& t, int dim);
Tensor log_softmax(const Tensor& t, int dim);
Tensor logsumexp(const Tensor& t, int dim, bool keepdim = false);
// x / max(||x||_2, eps) along `dim` (composed of differentiable ops).
Tensor l2_normalize(const Tensor& t, int dim, double eps = 1e-12);

}  // namespace mtmap
