// FastDivmod (kernels/common/fast_divmod.h) against the hardware division: every divisor up to
// 4096 and random ones up to 2^31 − 1, on numerators at and around multiples of the divisor, the
// top of the range, and random ones.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/common/fast_divmod.h"

using mtmap::FastDivmod;

namespace {

// Mismatches of q = n / d and r = n % d over the numerators that stress divisor d.
int64_t mismatches(int d, std::mt19937_64& rng) {
  const FastDivmod f(d);
  std::vector<int64_t> ns = {0, 1, d - 1, d, int64_t(d) + 1, 2 * int64_t(d) - 1, 2 * int64_t(d),
                             INT32_MAX, INT32_MAX - 1, INT32_MAX - d};
  const int64_t top_multiple = int64_t(INT32_MAX) / d * d;
  for (int64_t k : {top_multiple - 1, top_multiple, top_multiple + d - 1}) ns.push_back(k);
  std::uniform_int_distribution<int64_t> any(0, INT32_MAX);
  for (int i = 0; i < 64; ++i) ns.push_back(any(rng));
  int64_t bad = 0;
  for (int64_t n : ns) {
    if (n < 0 || n > INT32_MAX) continue;
    int q = -1, r = -1;
    f.divmod(int(n), q, r);
    if (q != int(n / d) || r != int(n % d) || f.div(int(n)) != int(n / d)) ++bad;
  }
  return bad;
}

}  // namespace

TEST_CASE("FastDivmod equals integer division for every divisor up to 4096", "[fast_divmod]") {
  std::mt19937_64 rng(11);
  int64_t bad = 0;
  for (int d = 1; d <= 4096; ++d) bad += mismatches(d, rng);
  CHECK(bad == 0);
}

TEST_CASE("FastDivmod equals integer division for large and power-of-two divisors", "[fast_divmod]") {
  std::mt19937_64 rng(12);
  std::uniform_int_distribution<int> big(4097, INT32_MAX);
  int64_t bad = 0;
  for (int i = 0; i < 20000; ++i) bad += mismatches(big(rng), rng);
  for (int b = 0; b < 31; ++b) bad += mismatches(1 << b, rng);
  bad += mismatches(INT32_MAX, rng);
  CHECK(bad == 0);
  // Every numerator below 2^20 for a few divisors the kernels meet (channels, extents).
  for (int d : {3, 7, 14, 28, 56, 112, 27, 441, 504}) {
    const FastDivmod f(d);
    int64_t wrong = 0;
    for (int n = 0; n < (1 << 20); ++n) wrong += f.div(n) != n / d;
    CHECK(wrong == 0);
  }
}
