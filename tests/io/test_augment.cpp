// Augmentations: the same parameters for every frame of a clip, parameters within their ranges
// and different across clips, and each operation doing what it says.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "io/augment.h"
#include "io/dead_leaves.h"
#include "io/pair_source.h"

using namespace mtmap;
using namespace mtmap::io;

namespace {

// A clip whose frames alternate between two different images A, B, A, B, ...
Tensor alternating_clip(int T, int H, int W) {
  DeadLeavesConfig c;
  c.height = H, c.width = W, c.frames = 2;
  Tensor two = generate_dead_leaves(c, 3, 0);
  Tensor clip = empty({3, T, H, W}, DType::u8);
  for (int ch = 0; ch < 3; ++ch)
    for (int t = 0; t < T; ++t)
      std::memcpy(clip.data<uint8_t>() + (ch * T + t) * H * W, two.data<uint8_t>() + (ch * 2 + t % 2) * H * W,
                  size_t(H * W));
  return clip;
}

bool frames_equal(const Tensor& out, int t0, int t1) {
  const int64_t T = out.size(1), px = out.size(2) * out.size(3);
  for (int ch = 0; ch < 3; ++ch)
    if (std::memcmp(out.data<float>() + (ch * T + t0) * px, out.data<float>() + (ch * T + t1) * px, size_t(px) * 4))
      return false;
  return true;
}

}  // namespace

TEST_CASE("augment: every frame of a clip gets the same augmentation", "[io][augment]") {
  Tensor clip = alternating_clip(6, 60, 80);
  AugmentConfig c;
  c.size = 32;
  int jitter = 0, flip = 0, gray = 0, blur = 0;
  for (uint64_t s = 0; s < 40; ++s) {
    Rng rng(s, 1);
    AugmentParams p = sample_augment(c, 60, 80, rng);
    jitter += p.jitter, flip += p.flip, gray += p.grayscale, blur += p.blur_sigma > 0;
    Tensor out = augment_clip(clip, p, c);
    REQUIRE(out.shape() == Shape{3, 6, 32, 32});
    // Frames showing the same image come out identical; frames showing A and B differ.
    CHECK(frames_equal(out, 0, 2));
    CHECK(frames_equal(out, 0, 4));
    CHECK(frames_equal(out, 1, 5));
    CHECK(!frames_equal(out, 0, 1));
    CHECK(p.crop_w * p.crop_h >= 0.2 * 60 * 80 * (1 - 1e-9));
    CHECK(p.crop_w / p.crop_h >= 0.75 - 1e-9);
    CHECK(p.crop_w / p.crop_h <= 4.0 / 3 + 1e-9);
  }
  // Every random operation happened for some clips and not for others.
  CHECK(jitter > 0);
  CHECK(jitter < 40);
  CHECK(flip > 0);
  CHECK(flip < 40);
  CHECK(gray > 0);
  CHECK(gray < 40);
  CHECK(blur > 0);
  CHECK(blur < 40);
}

TEST_CASE("augment: each operation does what it says", "[io][augment]") {
  Tensor clip = alternating_clip(2, 32, 32);
  AugmentConfig c;
  c.size = 32;
  c.mean = {0, 0, 0};
  c.std = {1, 1, 1};
  AugmentParams id;
  id.crop_w = id.crop_h = 32;
  Tensor plain = augment_clip(clip, id, c);
  // The full-frame crop at the same size is the identity (values / 255).
  for (int i = 0; i < 100; ++i) CHECK(plain.data<float>()[i * 7] == Approx(clip.data<uint8_t>()[i * 7] / 255.0));
  AugmentParams f = id;
  f.flip = true;
  Tensor flipped = augment_clip(clip, f, c);
  CHECK(flipped.data<float>()[5 * 32 + 0] == Approx(plain.data<float>()[5 * 32 + 31]));
  AugmentParams g = id;
  g.grayscale = true;
  Tensor gray = augment_clip(clip, g, c);
  const int64_t plane = 2 * 32 * 32;
  CHECK(gray.data<float>()[10] == gray.data<float>()[plane + 10]);
  CHECK(gray.data<float>()[10] == gray.data<float>()[2 * plane + 10]);
  AugmentParams b = id;
  b.jitter = true;
  b.brightness = 0.5;
  Tensor dark = augment_clip(clip, b, c);
  CHECK(dark.data<float>()[77] == Approx(plain.data<float>()[77] * 0.5));
  AugmentParams bl = id;
  bl.blur_sigma = 2;
  Tensor blurred = augment_clip(clip, bl, c);
  auto energy = [](const Tensor& t) {  // horizontal gradient energy
    double e = 0;
    for (int y = 0; y < 32; ++y)
      for (int x = 1; x < 32; ++x) e += std::pow(t.data<float>()[y * 32 + x] - t.data<float>()[y * 32 + x - 1], 2);
    return e;
  };
  CHECK(energy(blurred) < 0.5 * energy(plain));
  // Normalisation.
  AugmentConfig n = c;
  n.mean = {0.5f, 0.5f, 0.5f};
  n.std = {0.25f, 0.25f, 0.25f};
  CHECK(augment_clip(clip, id, n).data<float>()[3] == Approx((plain.data<float>()[3] - 0.5) / 0.25));
}

namespace {

// A square clip whose pixels brighten from left to right, and a config that only flips: the
// sign of an output row's slope says whether that clip was flipped.
Tensor left_to_right_ramp(int T, int S) {
  Tensor clip = empty({3, T, S, S}, DType::u8);
  uint8_t* p = clip.data<uint8_t>();
  for (int64_t i = 0; i < clip.numel(); ++i) p[i] = uint8_t(40 + 4 * (i % S));
  return clip;
}

AugmentConfig flips_only(int size) {
  AugmentConfig c;
  c.size = size;
  c.area_min = c.area_max = 1.0;
  c.aspect_min = c.aspect_max = 1.0;
  c.jitter_p = c.grayscale_p = c.blur_p = 0.0;
  return c;
}

bool flipped(const std::vector<float>& clip, int size) { return clip[size - 1] < clip[0]; }

}  // namespace

TEST_CASE("augment: a pair's flips are independent, shared or none, as data.flip says", "[io][augment]") {
  const int S = 16;
  Tensor clip = left_to_right_ramp(2, S);
  PairOptions o;
  o.augment = flips_only(S);
  const size_t n = size_t(3 * 2 * S * S);
  std::vector<float> q(n), k(n), q2(n), k2(n);
  for (FlipMode mode : {FlipMode::independent, FlipMode::shared, FlipMode::none}) {
    o.flip = mode;
    int q_flips = 0, k_flips = 0, disagree = 0;
    for (uint64_t s = 0; s < 200; ++s) {
      Rng rng(s, 4);
      augment_pair_into(clip, clip, o, rng, q.data(), k.data());
      q_flips += flipped(q, S), k_flips += flipped(k, S), disagree += flipped(q, S) != flipped(k, S);
      if (mode == FlipMode::independent) {  // the draws of two augment_clip_into calls, bit for bit
        Rng again(s, 4);
        augment_clip_into(clip, o.augment, again, q2.data());
        augment_clip_into(clip, o.augment, again, k2.data());
        REQUIRE(q == q2);
        REQUIRE(k == k2);
      }
    }
    INFO("mode " << int(mode) << ": query flipped " << q_flips << ", key " << k_flips << ", disagreeing " << disagree);
    if (mode == FlipMode::none) {
      CHECK(q_flips + k_flips == 0);
    } else {
      // p 0.5 each: 200 draws land in 70..130 with probability 1 − 2e-5.
      CHECK(q_flips > 70);
      CHECK(q_flips < 130);
      CHECK(k_flips > 70);
      CHECK(k_flips < 130);
      if (mode == FlipMode::shared)
        CHECK(disagree == 0);
      else
        CHECK(disagree > 70);
    }
  }
}
