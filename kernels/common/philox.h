#pragma once
// Counter-based RNG (Philox4x32-10, Salmon et al. 2011). Stateless: the numbers depend only on
// (seed, counter), so the CPU and every CUDA thread produce the same stream for the same seed and
// offset, in any order and on any number of threads.
#include <cmath>
#include <cstdint>

#include "kernels/common/host_device.h"

namespace mtmap {

struct Philox4 {
  uint32_t v[4];
};

MTMAP_HD inline uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = uint64_t(a) * uint64_t(b);
  *hi = uint32_t(p >> 32);
  return uint32_t(p);
}

// The Philox4x32-10 bijection of a 128-bit counter under a 64-bit key.
MTMAP_HD inline Philox4 philox4x32_10_raw(Philox4 ctr, uint32_t k0, uint32_t k1) {
  uint32_t c0 = ctr.v[0], c1 = ctr.v[1], c2 = ctr.v[2], c3 = ctr.v[3];
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// One 128-bit block of random bits for counter `block` under key `seed`.
MTMAP_HD inline Philox4 philox4x32_10(uint64_t seed, uint64_t block) {
  Philox4 ctr{{uint32_t(block), uint32_t(block >> 32), 0u, 0u}};
  return philox4x32_10_raw(ctr, uint32_t(seed), uint32_t(seed >> 32));
}

// Element layout, shared by both backends. `offset` counts 128-bit blocks.
//  - uniform f32: element i uses word i%4 of block offset + i/4; value (w >> 8) * 2^-24 in [0, 1).
//  - uniform f64: element i uses words 2(i%2), 2(i%2)+1 of block offset + i/2; 53 bits.
//  - normal (f32 and f64): element i uses the same two words as uniform f64: Box-Muller, cosine
//    branch, computed in double and then rounded, so both backends agree to the rounding of
//    their libm.
//  - randperm keys: element i takes the same two words as a 64-bit key; stable sort by key.
MTMAP_HD inline uint64_t philox_pair(uint64_t seed, uint64_t offset, int64_t i) {
  Philox4 r = philox4x32_10(seed, offset + uint64_t(i) / 2);
  int w = int(i % 2) * 2;
  return (uint64_t(r.v[w]) << 32) | r.v[w + 1];
}

MTMAP_HD inline float philox_uniform_f32(uint64_t seed, uint64_t offset, int64_t i) {
  Philox4 r = philox4x32_10(seed, offset + uint64_t(i) / 4);
  return float(r.v[i % 4] >> 8) * (1.0f / 16777216.0f);
}

MTMAP_HD inline double philox_uniform_f64(uint64_t seed, uint64_t offset, int64_t i) {
  return double(philox_pair(seed, offset, i) >> 11) * (1.0 / 9007199254740992.0);
}

// Standard normal by Box-Muller (cosine branch), in double; u1 in (0, 1] so log never sees 0.
MTMAP_HD inline double philox_normal(uint64_t seed, uint64_t offset, int64_t i) {
  uint64_t p = philox_pair(seed, offset, i);
  double u1 = (double(uint32_t(p >> 32)) + 1.0) * (1.0 / 4294967296.0);
  double u2 = double(uint32_t(p)) * (1.0 / 4294967296.0);
  // Qualified: inside namespace mtmap, the tensor ops named log and cos would hide the math ones.
  return ::sqrt(-2.0 * ::log(u1)) * ::cos(6.283185307179586 * u2);
}

// Blocks consumed by n elements of each kind, so a generator can advance its offset.
MTMAP_HD inline uint64_t philox_blocks_f32(int64_t n) { return uint64_t(n + 3) / 4; }
MTMAP_HD inline uint64_t philox_blocks_pair(int64_t n) { return uint64_t(n + 1) / 2; }

}  // namespace mtmap
