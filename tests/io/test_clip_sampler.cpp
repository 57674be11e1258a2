// Clip-pair sampling: starts always inside the video, and the gap law of each offset mode
// measured against its closed form.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "io/clip_sampler.h"

using namespace mtmap;
using namespace mtmap::io;

TEST_CASE("clip pairs: starts in range and the gap law of each offset mode", "[io][sampler]") {
  ClipSpec spec{.frames = 8, .stride = 2};  // span 15
  const int64_t N = 114;                    // 100 possible starts, gaps 0..99
  const int n = 20000;
  auto histogram = [&](OffsetMode mode, double power) {
    std::vector<double> h(5, 0);
    for (uint64_t i = 0; i < uint64_t(n); ++i) {
      Rng r(int(mode) + 10 * power, i);
      ClipPair x = sample_clip_pair(N, spec, mode, r, power);
      REQUIRE(x.start_q >= 0);
      REQUIRE(x.start_k >= 0);
      REQUIRE(x.start_q + spec.span() <= N);
      REQUIRE(x.start_k + spec.span() <= N);
      h[size_t(std::abs(x.start_q - x.start_k) / 20)] += 1.0 / n;
    }
    return h;
  };
  // Gap bins of 20 out of 0..99. Independent starts and CVRL's linear law: 1 − (1 − x)² per bin
  // edge, ≈ 0.36, 0.28, 0.20, 0.12, 0.04; the uniform gap: 0.2 each; power 3: 1 − (1 − x)⁴.
  auto cdf_bins = [](double k) {
    std::vector<double> b;
    for (int i = 0; i < 5; ++i) b.push_back(std::pow(1 - 0.2 * i, k + 1) - std::pow(1 - 0.2 * (i + 1), k + 1));
    return b;
  };
  auto expect = [](const std::vector<double>& h, const std::vector<double>& want) {
    for (size_t i = 0; i < 5; ++i) {
      INFO("bin " << i << ": " << h[i] << " vs " << want[i]);
      CHECK(std::fabs(h[i] - want[i]) < 0.02);
    }
  };
  expect(histogram(OffsetMode::independent, 1), cdf_bins(1));
  expect(histogram(OffsetMode::decreasing, 1), cdf_bins(1));
  expect(histogram(OffsetMode::decreasing, 3), cdf_bins(3));
  expect(histogram(OffsetMode::uniform_gap, 1), std::vector<double>(5, 0.2));
  Rng r(0, 0);
  CHECK_THROWS_WITH(sample_clip_pair(14, spec, OffsetMode::independent, r), Catch::Contains("shorter than one clip"));
}
