// The grating probe: the sweep's order, batching, time averaging and the grey baseline against the
// grating formula (a "model" that passes its input through), and a real ResNet3d with planted
// direction-selective units whose preferred directions the analysis must recover.
#include <catch2/catch.hpp>
#include <cmath>

#include "analysis/probe/grating_probe.h"
#include "analysis/responses.h"
#include "engine/random/generator.h"
#include "tests/analysis/planted_model.h"

using namespace mtmap;
using namespace mtmap::analysis;

namespace {

ProbeConfig small_sweep() {
  ProbeConfig c;
  c.directions = 4;
  c.wavelengths_px = {4, 6};
  c.periods_frames = {3, 5};
  c.phases = 3;
  c.contrast = 0.8;
  return c;
}

double circular_distance_deg(double a, double b) {
  const double d = std::fmod(std::fabs(a - b), 360.0);
  return std::min(d, 360.0 - d);
}

}  // namespace

TEST_CASE("probe: sweep order, batching, time average and baseline follow the grating formula", "[probe]") {
  const ProbeConfig cfg = small_sweep();
  ProbeInput in;
  in.frames = 5, in.size = 6;
  in.mean = {0.4, 0.5, 0.6}, in.std = {0.2, 0.25, 0.5};
  // The identity "block": its output (N, 3, T, S, S) makes every pixel of every channel a unit,
  // whose time-averaged response has a closed form.
  auto identity = [](const Tensor& x) { return x; };
  const ProbeResult r = probe_gratings(identity, cfg, in);
  const int S = in.size, G = stimulus_count(cfg) - 1;
  REQUIRE(G == 4 * 2 * 2 * 3);
  REQUIRE(r.clips == G + 1);
  REQUIRE(r.responses.units == 3 * S * S);
  REQUIRE((r.channels == 3 && r.height == S && r.width == S && r.block_frames == in.frames));
  const ResponseArray& a = r.responses;
  REQUIRE((a.directions == 4 && a.sfs == 2 && a.tfs == 2 && a.phases == 3));
  double worst = 0;
  for (int c = 0; c < 3; ++c)
    for (int row = 0; row < S; ++row)
      for (int col = 0; col < S; ++col) {
        const int u = (c * S + row) * S + col;  // docs/model.md §2: u = c·H·W + h·W + w
        const double x = col, y = S - 1 - row;  // y counts up from the bottom row (io/grating.h)
        for (int d = 0; d < 4; ++d)
          for (int s = 0; s < 2; ++s)
            for (int f = 0; f < 2; ++f)
              for (int p = 0; p < 3; ++p) {
                const double th = 2 * M_PI * d / 4, fs = 1 / cfg.wavelengths_px[s], ft = 1 / cfg.periods_frames[f];
                double expect = 0;
                for (int t = 0; t < in.frames; ++t) {
                  const double v = 0.5 + 0.5 * cfg.contrast *
                                             std::sin(2 * M_PI * (fs * (x * std::cos(th) + y * std::sin(th)) - ft * t) +
                                                      2 * M_PI * p / 3);
                  expect += (v - in.mean[c]) / in.std[c] / in.frames;
                }
                worst = std::max(worst, std::fabs(a.at(u, d, s, f, p) - expect));
              }
        CHECK(r.baseline[size_t(u)] == Approx((0.5 - in.mean[c]) / in.std[c]).margin(1e-6));
      }
  CHECK(worst < 2e-6);  // f32 clips

  // Eval-mode probing does not depend on how the clips are batched: 1, a size that leaves a
  // remainder, and more than the sweep give bit-identical arrays.
  for (int b : {1, 7, 100}) {
    ProbeConfig c2 = cfg;
    c2.batch_size = b;
    int calls = 0;
    const ProbeResult r2 = probe_gratings(identity, c2, in, [&](const ProbeProgress& p) {
      ++calls;
      CHECK(p.batches_done == calls);
      CHECK(p.clips_done == std::min(calls * b, G + 1));
    });
    CHECK(r2.batches == (G + 1 + b - 1) / b);
    CHECK(calls == r2.batches);
    CHECK(r2.responses.values == a.values);
    CHECK(r2.baseline == r.baseline);
  }
}

TEST_CASE("probe: a block that returns the wrong shape is named", "[probe]") {
  ProbeConfig cfg = small_sweep();
  ProbeInput in;
  in.frames = 3, in.size = 4;
  CHECK_THROWS_WITH(probe_gratings(
                        [](const Tensor& x) {
                          return x.reshape({x.size(0), -1});
                        },
                        cfg, in),
                    Catch::Contains("need (N, C, T, H, W)"));
}

TEST_CASE("probe + analysis recover the directions planted in a ResNet3d's stem", "[probe][planted]") {
  Generator gen(5);
  models::ResNet3dConfig mc;
  mc.width = 4;
  mc.projection_dim = 0;
  models::ResNet3d net(mc, gen);
  // Four directions, none on an axis, so a swapped x/y or a flipped sign would be caught.
  const std::vector<double> planted = {22.5, 135.0, 202.5, 315.0};
  const double wavelength = 8, period = 6;
  test::plant_direction_filters(net, planted, wavelength, period);
  net.eval();

  ProbeConfig cfg;
  cfg.directions = 16;
  cfg.wavelengths_px = {wavelength, 16};  // the second combination is off the filter's optimum
  cfg.periods_frames = {period, 3};
  cfg.phases = 4;
  cfg.batch_size = 16;
  ProbeInput in;
  in.frames = 16, in.size = 32;
  in.mean = {0.485, 0.456, 0.406}, in.std = {0.229, 0.224, 0.225};
  const ProbeResult r =
      probe_gratings([&](const Tensor& x) { return net.forward(x, {"layer3.1"}).blocks.at("layer3.1"); }, cfg, in);
  REQUIRE((r.channels == 16 && r.height == 4 && r.width == 4 && r.block_frames == 4));

  const TuningConfig tc;
  const TuningResult t = analyze_responses(r.responses, r.baseline, tc);
  TuningConfig tc_argmax;
  tc_argmax.preferred_direction = "argmax";
  const TuningResult argmax = analyze_responses(r.responses, r.baseline, tc_argmax);
  const int HW = 16;
  for (size_t c = 0; c < planted.size(); ++c) {
    INFO("channel " << c << ", planted " << planted[c] << " deg");
    int close = 0;
    for (int i = 0; i < HW; ++i) {
      const UnitMetrics& m = t.units[c * HW + size_t(i)];
      const int h = i / 4, w = i % 4;
      INFO("unit at (" << h << ", " << w << "): preferred " << m.preferred_direction_deg << ", DSI " << m.dsi);
      // Position 0 of either axis sees the stem's zero padding; the interior ones a clean grating.
      if (h > 0 && w > 0) {
        // The vector sum is pulled ≈ 4° off 22.5° by the square pixel grid; the argmax is exact.
        CHECK(circular_distance_deg(m.preferred_direction_deg, planted[c]) < 5);
        CHECK(argmax.units[c * HW + size_t(i)].preferred_direction_deg == planted[c]);
        // Frame 0 of the block sees only two taps (the previous frame is padding): DSI ≈ 0.7, not 1.
        CHECK(m.dsi > 0.6);
        CHECK(m.selective);
        CHECK(m.best_sf == 0);
        CHECK(m.best_tf == 0);
      }
      close += circular_distance_deg(m.preferred_direction_deg, planted[c]) < 15;
    }
    CHECK(close >= 14);
  }
  // Channels the shortcuts do not feed are silent: not responsive, no direction.
  for (size_t u = planted.size() * HW; u < t.units.size(); ++u) {
    CHECK(!t.units[u].responsive);
    CHECK(t.units[u].peak_response == 0);
  }
  // The grey clip drives nothing away from the zero padding: the filters have zero mean per frame.
  for (size_t u = 0; u < size_t(r.responses.units); ++u)
    if ((u % HW) / 4 > 0 && u % 4 > 0) CHECK(std::fabs(r.baseline[u]) < 1e-5);
}
