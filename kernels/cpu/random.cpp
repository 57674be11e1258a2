// Philox streams on the CPU: element i is a pure function of (seed, offset, i).
#include <algorithm>
#include <numeric>
#include <vector>

#include "kernels/common/philox.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {

void uniform(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out) {
  if (t == DType::f32) {
    float* o = static_cast<float*>(out);
    for (int64_t i = 0; i < n; ++i) o[i] = philox_uniform_f32(seed, offset, i);
  } else if (t == DType::f64) {
    double* o = static_cast<double*>(out);
    for (int64_t i = 0; i < n; ++i) o[i] = philox_uniform_f64(seed, offset, i);
  } else {
    unsupported("uniform", t);
  }
}

void normal(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out) {
  float_switch("normal", t, [&](auto zero) {
    using T = decltype(zero);
    T* o = static_cast<T*>(out);
    for (int64_t i = 0; i < n; ++i) o[i] = T(philox_normal(seed, offset, i));
  });
}

void randperm(int64_t n, uint64_t seed, uint64_t offset, int64_t* out) {
  std::vector<uint64_t> sort_keys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) sort_keys[size_t(i)] = philox_pair(seed, offset, i);
  std::iota(out, out + n, int64_t(0));
  // Stable: equal keys keep index order, as CUDA's radix sort does.
  std::stable_sort(out, out + n, [&](int64_t a, int64_t b) { return sort_keys[size_t(a)] < sort_keys[size_t(b)]; });
}

}  // namespace mtmap::cpu
