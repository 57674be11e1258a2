#pragma once
// The loop behind every CPU elementwise kernel. Axes that every operand walks contiguously are
// merged first (a contiguous tensor, or one broadcast from a scalar, becomes one long row), then
// the work is split into rows along the last axis, each row a simple strided loop that the
// compiler vectorises when its strides are 1 or 0. Rows (or, for a single long row, chunks of it)
// are spread over OpenMP threads; each output element is written by one thread, so results do
// not depend on the thread count.
#include <array>
#include <cstdint>

#include "kernels/common/strided.h"

namespace mtmap::cpu {

template <size_t K>
struct RowPlan {
  std::array<StridedIndex, K> ix;  // coalesced, identical sizes
  int64_t n = 0;
};

// Merges axis d into d+1 where, for every operand, stride[d] == stride[d+1]·size[d+1]; drops size-1 axes.
template <size_t K>
RowPlan<K> coalesce(int64_t n, std::array<StridedIndex, K> ix) {
  RowPlan<K> plan;
  plan.n = n;
  const int nd = ix[0].ndim;
  std::array<StridedIndex, K> out{};
  int od = 0;
  for (int d = 0; d < nd; ++d) {
    if (ix[0].sizes[d] == 1) continue;
    bool merge = od > 0;
    for (size_t k = 0; merge && k < K; ++k)
      merge = out[k].strides[od - 1] == ix[k].strides[d] * ix[k].sizes[d];
    if (merge) {
      for (size_t k = 0; k < K; ++k) {
        out[k].sizes[od - 1] *= ix[k].sizes[d];
        out[k].strides[od - 1] = ix[k].strides[d];
      }
    } else {
      for (size_t k = 0; k < K; ++k) {
        out[k].sizes[od] = ix[k].sizes[d];
        out[k].strides[od] = ix[k].strides[d];
      }
      ++od;
    }
  }
  if (od == 0) {  // a single element
    for (size_t k = 0; k < K; ++k) {
      out[k].sizes[0] = 1;
      out[k].strides[0] = 0;
    }
    od = 1;
  }
  for (size_t k = 0; k < K; ++k) out[k].ndim = od;
  plan.ix = out;
  return plan;
}

// row(out_start, base offsets, strides along the row, length) for every row of the output.
template <size_t K, class Row>
void for_each_row(const RowPlan<K>& plan, Row&& row) {
  const StridedIndex& first = plan.ix[0];
  const int64_t len = first.sizes[first.ndim - 1];
  const int64_t rows = len == 0 ? 0 : plan.n / len;
  std::array<int64_t, K> step;
  for (size_t k = 0; k < K; ++k) step[k] = plan.ix[k].strides[first.ndim - 1];
  constexpr int64_t kGrain = 1 << 15;  // below this, threads cost more than they give
  if (rows == 1) {
    const int64_t chunks = (len + kGrain - 1) / kGrain;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; ++c) {
      int64_t begin = c * kGrain, count = begin + kGrain < len ? kGrain : len - begin;
      std::array<int64_t, K> base;
      for (size_t k = 0; k < K; ++k) base[k] = begin * step[k];
      row(begin, base, step, count);
    }
    return;
  }
#pragma omp parallel for schedule(static) if (plan.n > kGrain)
  for (int64_t r = 0; r < rows; ++r) {
    std::array<int64_t, K> base;
    for (size_t k = 0; k < K; ++k) base[k] = plan.ix[k].offset(r * len);
    row(r * len, base, step, len);
  }
}

}  // namespace mtmap::cpu
