#pragma once
#include "engine/tensor/tensor.h"

namespace mtmap {

// Matrix product. a (.., m, k) @ b (.., k, n) → (.., m, n); leading (batch) axes broadcast;
// 1-D operands are not promoted (use unsqueeze). OpenBLAS on the CPU, cuBLAS on CUDA.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace mtmap
