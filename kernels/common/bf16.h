#pragma once
// bfloat16 storage type shared by CPU and CUDA code: the upper 16 bits of an IEEE float.
// Conversion rounds to nearest even (NaN stays NaN), which is what CUDA's __float2bfloat16 does,
// so a bf16 tensor made on the CPU and one made on the GPU hold the same bits.
#include <cstdint>
#include <cstring>

#include "kernels/common/host_device.h"

namespace mtmap {

struct BFloat16 {
  uint16_t bits;
};

MTMAP_HD inline uint32_t float_bits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

MTMAP_HD inline float bits_float(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

MTMAP_HD inline BFloat16 float_to_bf16(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return BFloat16{uint16_t((u >> 16) | 0x40u)};  // quiet NaN
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return BFloat16{uint16_t((u + rounding) >> 16)};
}

MTMAP_HD inline float bf16_to_float(BFloat16 b) { return bits_float(uint32_t(b.bits) << 16); }

}  // namespace mtmap
