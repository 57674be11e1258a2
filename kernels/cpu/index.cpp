// Index kernels on (outer, D, inner) views. Accumulating kernels add contributions to each output
// element in increasing source position, the same order the CUDA kernels use.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {

void index_select(DType t, const IndexSelectParams& p, const void* in, const int64_t* idx, void* out) {
  float_switch("index_select", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t i = 0; i < p.I; ++i) {
        const T* src = x + (o * p.D + idx[i]) * p.inner;
        T* dst = y + (o * p.I + i) * p.inner;
        for (int64_t n = 0; n < p.inner; ++n) dst[n] = src[n];
      }
  });
}

void index_add(DType t, const IndexAddParams& p, const void* src, const int64_t* idx, void* out) {
  float_switch("index_add", t, [&](auto zero) {
    using T = decltype(zero);
    const T* s = static_cast<const T*>(src);
    T* y = static_cast<T*>(out);
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t i = 0; i < p.I; ++i) {
        const T* from = s + (o * p.I + i) * p.inner;
        T* to = y + (o * p.D + idx[i]) * p.inner;
        for (int64_t n = 0; n < p.inner; ++n) to[n] += from[n];
      }
  });
}

void gather(DType t, const GatherParams& p, const void* in, const int64_t* idx, void* out) {
  float_switch("gather", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t j = 0; j < p.J; ++j)
        for (int64_t n = 0; n < p.inner; ++n) {
          int64_t at = (o * p.J + j) * p.inner + n;
          y[at] = x[(o * p.D + idx[at]) * p.inner + n];
        }
  });
}

void scatter_add(DType t, const GatherParams& p, const void* src, const int64_t* idx, void* out) {
  float_switch("scatter_add", t, [&](auto zero) {
    using T = decltype(zero);
    const T* s = static_cast<const T*>(src);
    T* y = static_cast<T*>(out);
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t j = 0; j < p.J; ++j)
        for (int64_t n = 0; n < p.inner; ++n) {
          int64_t at = (o * p.J + j) * p.inner + n;
          y[(o * p.D + idx[at]) * p.inner + n] += s[at];
        }
  });
}

}  // namespace mtmap::cpu
