// The procedural video: deterministic per seed, motion energy in every direction (measured from
// the spatiotemporal spectrum), natural-like size statistics. The drifting gratings: direction,
// spatial and temporal frequency recovered from the frames by FFT.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "io/dead_leaves.h"
#include "io/grating.h"
#include "tests/io/spectrum.h"

using namespace mtmap;
using namespace mtmap::io;

namespace {

std::vector<float> luminance_u8(const Tensor& clip) {  // (3, T, H, W) u8 -> (T, H, W)
  const int64_t n = clip.numel() / 3;
  const uint8_t* p = clip.data<uint8_t>();
  std::vector<float> l(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) l[size_t(i)] = (0.299f * p[i] + 0.587f * p[n + i] + 0.114f * p[2 * n + i]) / 255.f;
  return l;
}

std::vector<float> first_channel(const Tensor& clip) {  // (3, T, H, W) f32 -> (T, H, W)
  const float* p = clip.data<float>();
  return std::vector<float>(p, p + clip.numel() / 3);
}

}  // namespace

TEST_CASE("dead leaves: deterministic per seed and index", "[io][generator]") {
  DeadLeavesConfig c;
  c.height = c.width = 48;
  c.frames = 8;
  Tensor a = generate_dead_leaves(c, 7, 3), b = generate_dead_leaves(c, 7, 3);
  REQUIRE(a.shape() == Shape{3, 8, 48, 48});
  CHECK(std::memcmp(a.data<uint8_t>(), b.data<uint8_t>(), a.nbytes()) == 0);
  Tensor other_seed = generate_dead_leaves(c, 8, 3), other_index = generate_dead_leaves(c, 7, 4);
  CHECK(std::memcmp(a.data<uint8_t>(), other_seed.data<uint8_t>(), a.nbytes()) != 0);
  CHECK(std::memcmp(a.data<uint8_t>(), other_index.data<uint8_t>(), a.nbytes()) != 0);
  // Frames change over time (things move) and use a wide range of intensities.
  CHECK(std::memcmp(a.data<uint8_t>(), a.data<uint8_t>() + 48 * 48, 48 * 48) != 0);
  auto l = luminance_u8(a);
  auto [lo, hi] = std::minmax_element(l.begin(), l.end());
  CHECK(*hi - *lo > 0.5f);
}

TEST_CASE("dead leaves: motion energy covers every direction, a grating's does not", "[io][generator]") {
  const int T = 32, S = 64, bins = 8;
  DeadLeavesConfig c;
  c.height = c.width = S;
  c.frames = T;
  std::vector<double> total(bins, 0.0);
  for (uint64_t i = 0; i < 12; ++i) {  // the camera moves one way per video: average a dozen
    auto e = test::motion_energy_by_direction(luminance_u8(generate_dead_leaves(c, 11, i)), T, S, S, bins);
    for (int b = 0; b < bins; ++b) total[size_t(b)] += e[size_t(b)];
  }
  double mean = 0;
  for (double v : total) mean += v / bins;
  for (int b = 0; b < bins; ++b) {
    INFO("direction " << b * 360 / bins << " deg: " << total[size_t(b)] / mean << " of the mean");
    CHECK(total[size_t(b)] > 0.6 * mean);
    CHECK(total[size_t(b)] < 1.5 * mean);
  }
  // The same measurement on a grating drifting at 90° puts (nearly) everything in one bin, so
  // the check above can fail.
  Tensor g = drifting_grating({.direction_deg = 90, .spatial_freq = 1.0 / 8, .temporal_freq = 1.0 / 8}, T, S, S);
  auto e = test::motion_energy_by_direction(first_channel(g), T, S, S, bins);
  double sum = 0;
  for (double v : e) sum += v;
  CHECK(e[2] > 0.95 * sum);
}

TEST_CASE("dead leaves: leaf sizes follow the power law (the spectrum falls as 1/f^2)", "[io][generator]") {
  // The spatial power spectrum of dead leaves with p(r) ∝ r^-3 falls roughly as 1/f^2 between
  // the leaf sizes: measure the slope of the radially averaged spectrum of a frame.
  DeadLeavesConfig c;
  c.height = c.width = 128;
  c.frames = 1;
  c.texture_gratings = 0;  // the texture adds its own spectrum; test the occlusion statistics
  std::vector<double> lo(1, 0), hi(1, 0);
  double p_low = 0, p_high = 0;
  for (uint64_t i = 0; i < 8; ++i) {
    auto l = luminance_u8(generate_dead_leaves(c, 5, i));
    std::vector<test::cd> a(l.begin(), l.end());
    test::fft3(a, 1, 128, 128);
    for (int y = 0; y < 128; ++y)
      for (int x = 0; x < 128; ++x) {
        double fy = y < 64 ? y : y - 128, fx = x < 64 ? x : x - 128, f = std::hypot(fx, fy);
        double pw = std::norm(a[size_t(y) * 128 + x]);
        if (f >= 4 && f < 6) p_low += pw / (M_PI * (36 - 16));  // per unit area of the band
        if (f >= 16 && f < 24) p_high += pw / (M_PI * (576 - 256));
      }
  }
  // Frequencies differ by a factor ~4 (band centres 5 and 20): 1/f^2 predicts 16, 1/f 4, 1/f^3 64.
  double ratio = p_low / p_high;
  INFO("power ratio between 5 and 20 cycles/frame: " << ratio);
  CHECK(ratio > 8);
  CHECK(ratio < 40);
}

TEST_CASE("gratings: direction, spatial and temporal frequency recovered by FFT", "[io][grating]") {
  const int T = 16, S = 128;
  for (double wavelength : {8.0, 16.0})
    for (double period : {4.0, 8.0})
      for (int k = 0; k < 16; ++k) {
        GratingParams p{
            .direction_deg = 22.5 * k, .spatial_freq = 1 / wavelength, .temporal_freq = 1 / period, .phase = 0.3 * k};
        auto peak = test::spectral_peak(first_channel(drifting_grating(p, T, S, S)), T, S, S);
        INFO("direction " << p.direction_deg << " wavelength " << wavelength << " period " << period << " -> "
                          << peak.direction_deg << " deg, " << peak.spatial_freq << " c/px, " << peak.temporal_freq
                          << " c/frame");
        double d = std::fabs(std::remainder(peak.direction_deg - p.direction_deg, 360.0));
        CHECK(d < 4.0);  // the DFT grid's resolution; the directions are 22.5° apart
        // Within half a DFT bin along each axis (the grid does not hold oblique frequencies exactly).
        CHECK(std::fabs(peak.spatial_freq - p.spatial_freq) <= 0.5 * std::sqrt(2.0) / S);
        CHECK(peak.temporal_freq == Approx(p.temporal_freq).epsilon(1e-9));
      }
}

TEST_CASE("gratings: values, contrast and the aliasing guard", "[io][grating]") {
  Tensor g =
      drifting_grating({.direction_deg = 0, .spatial_freq = 0.25, .temporal_freq = 0.25, .contrast = 0.5}, 2, 1, 4);
  auto v = g.to_vector<float>();
  // t = 0: 0.5 + 0.25 sin(π x / 2) = 0.5, 0.75, 0.5, 0.25; t = 1 is shifted by a quarter cycle.
  CHECK(v[0] == Approx(0.5));
  CHECK(v[1] == Approx(0.75));
  CHECK(v[3] == Approx(0.25));
  CHECK(v[4] == Approx(0.25));  // sin(-π/2)
  CHECK(v[5] == Approx(0.5));
  CHECK(v[8] == v[0]);  // channels are equal
  CHECK_THROWS_WITH(drifting_grating({.temporal_freq = 0.5}, 4, 8, 8), Catch::Contains("aliases"));
}

#if !defined(MTMAP_WITH_CUDA)
TEST_CASE("dead leaves: a CUDA device in a build without the CUDA backend is an error naming it", "[io][generator]") {
  DeadLeavesConfig c;
  c.height = c.width = 16, c.frames = 2;
  CHECK_THROWS_WITH(generate_dead_leaves(c, 1, 0, Device::cuda(0)),
                    Catch::Contains("cuda:0") && Catch::Contains("no CUDA backend"));
  Tensor cpu = generate_dead_leaves(c, 1, 0, Device::cpu()), plain = generate_dead_leaves(c, 1, 0);
  CHECK(std::memcmp(cpu.data<uint8_t>(), plain.data<uint8_t>(), cpu.nbytes()) == 0);
}
#endif
