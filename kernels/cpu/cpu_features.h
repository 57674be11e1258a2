#pragma once
// What the CPU we run on can do (the direct convolution kernels need AVX-512F).

namespace mtmap::cpu {

inline bool cpu_has_avx512() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return has;
}

}  // namespace mtmap::cpu
