// Philox: known-answer vectors, distributions, determinism and offsets.
#include <algorithm>
#include <numeric>

#include "engine/ops/reduce.h"
#include "kernels/common/philox.h"
#include "tests/test_support.h"

using namespace mtmap;

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors", "[random]") {
  // Random123's kat_vectors for philox4x32_10.
  Philox4 zero = philox4x32_10_raw(Philox4{{0, 0, 0, 0}}, 0, 0);
  CHECK(zero.v[0] == 0x6627e8d5u);
  CHECK(zero.v[1] == 0xe169c58du);
  CHECK(zero.v[2] == 0xbc57ac4cu);
  CHECK(zero.v[3] == 0x9b00dbd8u);
  Philox4 ones = philox4x32_10_raw(Philox4{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  CHECK(ones.v[0] == 0x408f276du);
  CHECK(ones.v[1] == 0x41c83b0eu);
  CHECK(ones.v[2] == 0xa20bc7c6u);
  CHECK(ones.v[3] == 0x6d5451fdu);
  Philox4 pi = philox4x32_10_raw(Philox4{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  CHECK(pi.v[0] == 0xd16cfe09u);
  CHECK(pi.v[1] == 0x94fdccebu);
  CHECK(pi.v[2] == 0x5001e420u);
  CHECK(pi.v[3] == 0x24126ea1u);
}

TEST_CASE("uniform and normal have the right moments", "[random]") {
  Generator g(7);
  const int64_t n = 200000;
  for (DType t : {DType::f32, DType::f64}) {
    Tensor u = rand({n}, g, t);
    std::vector<double> v = u.to_vector<double>();
    CHECK(*std::min_element(v.begin(), v.end()) >= 0.0);
    CHECK(*std::max_element(v.begin(), v.end()) < 1.0);
    CHECK(mean(u).item() == Approx(0.5).margin(0.005));
    CHECK(var(u, {0}).item() == Approx(1.0 / 12).margin(0.002));
    Tensor z = randn({n}, g, t);
    CHECK(mean(z).item() == Approx(0.0).margin(0.01));
    CHECK(var(z, {0}).item() == Approx(1.0).margin(0.02));
  }
}

TEST_CASE("same seed and offset give the same numbers, the offset advances", "[random]") {
  Generator a(42), b(42);
  CHECK(rand({1001}, a).to_vector<float>() == rand({1001}, b).to_vector<float>());
  CHECK(a.offset() == b.offset());
  CHECK(a.offset() == (1001 + 3) / 4);
  // The next draw continues the stream instead of repeating it.
  Generator c(42);
  std::vector<float> first = rand({8}, c).to_vector<float>();
  std::vector<float> second = rand({8}, c).to_vector<float>();
  CHECK(first != second);
  // Starting at the advanced offset reproduces the second draw.
  Generator d(42, 2);
  CHECK(rand({8}, d).to_vector<float>() == second);
  // Different seeds differ.
  Generator e(43);
  CHECK(rand({8}, e).to_vector<float>() != first);
}

TEST_CASE("randperm is a permutation, deterministic per seed", "[random]") {
  Generator g(3), h(3);
  std::vector<int64_t> p = randperm(1000, g).to_vector<int64_t>();
  CHECK(p == randperm(1000, h).to_vector<int64_t>());
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> expect(1000);
  std::iota(expect.begin(), expect.end(), 0);
  CHECK(sorted == expect);
  CHECK(p != expect);
  CHECK(randperm(0, g).numel() == 0);
}
