#pragma once
// A stream of random numbers for one purpose (one sample's clip offsets, its augmentations, one
// generated video) from the engine's Philox: the stream is a pure function of (seed, key), so a
// sample's randomness does not depend on which worker thread made it or in what order.
#include <cmath>
#include <cstdint>

#include "kernels/common/philox.h"

namespace mtmap::io {

// Mixes several integers into one stream key (splitmix64 finaliser).
inline uint64_t mix_key(uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  uint64_t h =
      a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^ c * 0x94D049BB133111EBull;
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 29;
  return h;
}

class Rng {
 public:
  // Streams for different keys start 2^20 blocks apart; one stream never draws that many.
  Rng(uint64_t seed, uint64_t key) : seed_(seed), offset_(key << 20) {}
  double uniform() { return philox_uniform_f64(seed_, offset_, i_++); }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  bool bernoulli(double p) { return uniform() < p; }
  int64_t integer(int64_t n) {  // [0, n)
    int64_t v = int64_t(uniform() * double(n));
    return v < n ? v : n - 1;
  }
  double normal() { return philox_normal(seed_, offset_, i_++); }

 private:
  uint64_t seed_, offset_;
  int64_t i_ = 0;
};

}  // namespace mtmap::io
