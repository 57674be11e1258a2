#pragma once
// Which taps of a filter axis read real input rather than zero padding: a direct kernel skips the
// others (at the quickstart scale layer4's input is one frame deep, so two of its three temporal
// taps read only padding; cuDNN and oneDNN skip them too).
#include <cstdint>

#include "kernels/common/host_device.h"

namespace mtmap {

// Taps t in [*lo, *hi) of an axis whose input index o·stride − pad + t·dil lies in [0, extent)
// for output index o. Empty (lo == hi) when every tap reads padding.
MTMAP_HD inline void taps_inside(int64_t o, int64_t stride, int64_t pad, int64_t dil, int64_t extent, int64_t taps,
                                 int64_t* lo, int64_t* hi) {
  const int64_t start = o * stride - pad;  // input index of tap 0
  // First t with start + t·dil ≥ 0, and one past the last with start + t·dil ≤ extent − 1.
  int64_t first = start >= 0 ? 0 : (-start + dil - 1) / dil;
  int64_t last = extent - 1 - start < 0 ? -1 : (extent - 1 - start) / dil;
  if (first > taps) first = taps;
  if (last + 1 < first) last = first - 1;
  *lo = first;
  *hi = last + 1 < taps ? last + 1 : taps;
  if (*hi < *lo) *hi = *lo;
}

}  // namespace mtmap
