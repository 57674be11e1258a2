#pragma once
// How a kernel walks a strided tensor: sizes and element strides of up to kMaxDims axes. The
// output of an elementwise kernel is contiguous with the indexer's sizes; each input carries its
// own strides (0 on broadcast axes), so broadcasting and views cost no copy.
#include <cstdint>

#include "kernels/common/host_device.h"

namespace mtmap {

inline constexpr int kMaxDims = 6;

struct StridedIndex {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};  // in elements

  // Offset (in elements) of the i-th element in row-major order of `sizes`.
  MTMAP_HD int64_t offset(int64_t linear) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t s = sizes[d];
      int64_t c = linear % s;
      linear /= s;
      off += c * strides[d];
    }
    return off;
  }

  MTMAP_HD bool contiguous() const {
    int64_t expect = 1;
    for (int d = ndim - 1; d >= 0; --d) {
      if (sizes[d] != 1 && strides[d] != expect) return false;
      expect *= sizes[d];
    }
    return true;
  }
};

}  // namespace mtmap
