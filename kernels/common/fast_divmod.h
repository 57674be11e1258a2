#pragma once
// Division by a divisor fixed at launch time, as a multiply-high and a shift (Granlund &
// Montgomery, "Division by invariant integers using multiplication", PLDI 1994, §4).
//
// Why: the implicit-GEMM kernels turn a reduction index into filter tap and channel (and wgrad a
// row into n, z, p, q) for every 16-byte chunk of every tile: three or four divisions each. A GPU
// has no integer divider; nvcc expands `n / d` by a runtime d into ~20 instructions, enough that
// the index arithmetic rivals the tensor-core work. Precomputed on the host, a division is a
// __umulhi, an add and a shift.
//
// Exact for every numerator 0 ≤ n < 2^31 and divisor 1 ≤ d < 2^31 (tests/test_fast_divmod.cpp).
#include <cstdint>

#include "kernels/common/host_device.h"

namespace mtmap {

struct FastDivmod {
  int d = 1;
  uint32_t mul = 1;  // ⌊2^32·(2^shift − d)/d⌋ + 1
  uint32_t shift = 0;  // ⌈log2 d⌉

  FastDivmod() = default;
  explicit FastDivmod(int divisor) : d(divisor) {
    if (divisor < 1) divisor = d = 1;  // callers' divisors are extents ≥ 1; never divide by zero
    uint32_t l = 0;
    while ((uint64_t(1) << l) < uint64_t(divisor)) ++l;
    shift = l;
    mul = uint32_t(((uint64_t(1) << 32) * ((uint64_t(1) << l) - uint64_t(divisor))) / uint64_t(divisor) + 1);
  }

  MTMAP_HD static uint32_t umulhi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
    return __umulhi(a, b);
#else
    return uint32_t((uint64_t(a) * uint64_t(b)) >> 32);
#endif
  }

  // n / d for 0 ≤ n < 2^31 (t ≤ n, so t + n does not overflow 32 bits).
  MTMAP_HD int div(int n) const {
    const uint32_t t = umulhi(mul, uint32_t(n));
    return int((t + uint32_t(n)) >> shift);
  }
  // q = n / d, r = n % d.
  MTMAP_HD void divmod(int n, int& q, int& r) const {
    q = div(n);
    r = n - q * d;
  }
};

}  // namespace mtmap
