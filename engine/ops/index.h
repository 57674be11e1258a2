#pragma once
// Joining and indexing. Index tensors are i64; an out-of-range index is an mtmap::Error naming
// the op, the index, its position and the bound: thrown by the op for a CPU index, and for a
// CUDA index by the context's next synchronisation point (the kernels check on the device:
// engine/cuda/index_errors.h).
#include <vector>

#include "engine/tensor/tensor.h"

namespace mtmap {

Tensor cat(const std::vector<Tensor>& ts, int dim);
Tensor stack(const std::vector<Tensor>& ts, int dim);

// out = t with axis `dim` replaced by t's entries at `index` (1-D).
Tensor index_select(const Tensor& t, int dim, const Tensor& index);
// out = t, then out[.., index[i], ..] += src[.., i, ..] along `dim` (deterministic order).
Tensor index_add(const Tensor& t, int dim, const Tensor& index, const Tensor& src);
// out[.., j, ..] = t[.., index[.., j, ..], ..] along `dim`; index has t's sizes on every other axis.
Tensor gather(const Tensor& t, int dim, const Tensor& index);
// out = t, then out[.., index[.., j, ..], ..] += src[.., j, ..]; index and src have one shape,
// equal to t's on every axis but `dim`. Deterministic (contributions added in increasing j).
Tensor scatter_add(const Tensor& t, int dim, const Tensor& index, const Tensor& src);

}  // namespace mtmap
