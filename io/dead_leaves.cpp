// Dead-leaves rendering: the scene is drawn back to front (painter's algorithm) in world
// coordinates that move with each leaf; the camera offset is subtracted per frame.
#include "io/dead_leaves.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "io/rng.h"

namespace mtmap::io {
namespace {

struct Grating {
  float kx, ky, phase, amp;  // cycles/px in the leaf's frame, radians, amplitude
};

struct Leaf {
  float x, y, vx, vy;        // world position at t = 0 and velocity (px, px/frame)
  float a, b, cos_o, sin_o;  // half-axes and orientation
  bool rect;
  float rgb[3];
  Grating g[4];
  int ng;
};

}  // namespace

Tensor generate_dead_leaves(const DeadLeavesConfig& c, uint64_t seed, uint64_t index) {
  MTMAP_CHECK(c.height > 0 && c.width > 0 && c.frames > 0 && c.radius_min > 0 && c.radius_max >= c.radius_min &&
                  c.texture_gratings >= 0 && c.texture_gratings <= 4,
              "dead leaves: invalid config ({}x{}, {} frames, radii {}..{}, {} gratings)", c.width, c.height, c.frames,
              c.radius_min, c.radius_max, c.texture_gratings);
  Rng rng(seed, mix_key(index, 0xDEAD1EAF));
  const int H = c.height, W = c.width;
  const int64_t T = c.frames;
  const double cam_dir = rng.uniform(0, 2 * M_PI), cam_speed = c.camera_speed_max * std::sqrt(rng.uniform());
  const double cvx = cam_speed * std::cos(cam_dir), cvy = cam_speed * std::sin(cam_dir);

  // The scene must cover the screen at every frame: the screen swept by the camera, plus room
  // for leaves that drift in from outside.
  const double margin = c.radius_max + (c.object_speed_max + c.camera_speed_max) * double(T);
  const double x_lo = std::min(0.0, cvx * double(T)) - margin, x_hi = W + std::max(0.0, cvx * double(T)) + margin;
  const double y_lo = std::min(0.0, cvy * double(T)) - margin, y_hi = H + std::max(0.0, cvy * double(T)) + margin;
  // Mean leaf area under p(r) ∝ r^-3 on [rmin, rmax]: π E[r²] = π·2 rmin² rmax² ln(rmax/rmin)/(rmax² − rmin²).
  const double r0 = c.radius_min, r1 = c.radius_max;
  const double er2 = r1 > r0 ? 2 * r0 * r0 * r1 * r1 * std::log(r1 / r0) / (r1 * r1 - r0 * r0) : r0 * r0;
  const int64_t n = int64_t(c.coverage * (x_hi - x_lo) * (y_hi - y_lo) / (M_PI * er2 * 0.8)) + 1;

  std::vector<Leaf> leaves(static_cast<size_t>(n));
  for (Leaf& L : leaves) {
    // Inverse CDF of p(r) ∝ r^-3: 1/r² uniform between 1/rmax² and 1/rmin².
    double u = rng.uniform();
    double r = 1.0 / std::sqrt(1.0 / (r0 * r0) + u * (1.0 / (r1 * r1) - 1.0 / (r0 * r0)));
    double elong = rng.uniform(0.5, 1.0), o = rng.uniform(0, M_PI);
    L.a = float(r), L.b = float(r * elong), L.cos_o = float(std::cos(o)), L.sin_o = float(std::sin(o));
    L.rect = rng.bernoulli(0.4);
    L.x = float(rng.uniform(x_lo, x_hi)), L.y = float(rng.uniform(y_lo, y_hi));
    double dir = rng.uniform(0, 2 * M_PI), speed = c.object_speed_max * std::sqrt(rng.uniform());
    L.vx = float(speed * std::cos(dir)), L.vy = float(speed * std::sin(dir));
    // Colour: a luminance with a modest chroma around it, as natural surfaces.
    double lum = rng.uniform(0.1, 0.9);
    for (float& ch : L.rgb) ch = float(std::clamp(lum + 0.15 * rng.normal(), 0.0, 1.0));
    L.ng = c.texture_gratings;
    for (int k = 0; k < L.ng; ++k) {
      // Spatial frequency log-uniform from one cycle per leaf to 1/3 cycle per px; amplitude 1/f.
      double fmin = std::min(1.0 / (2 * r), 1.0 / 3), f = fmin * std::pow((1.0 / 3) / fmin, rng.uniform());
      double th = rng.uniform(0, 2 * M_PI);
      L.g[k] = {float(f * std::cos(th)), float(f * std::sin(th)), float(rng.uniform(0, 2 * M_PI)),
                float(c.texture_contrast * fmin / f / std::sqrt(double(L.ng)))};
    }
  }

  std::vector<float> frame(size_t(3) * H * W);
  Tensor out = empty({3, T, H, W}, DType::u8);
  uint8_t* o = out.data<uint8_t>();
  const int64_t plane = T * H * W;
  for (int64_t t = 0; t < T; ++t) {
    std::fill(frame.begin(), frame.end(), 0.5f);
    const float ft = float(t), camx = float(cvx * double(t)), camy = float(cvy * double(t));
    for (const Leaf& L : leaves) {
      const float cx = L.x + L.vx * ft - camx, cy = L.y + L.vy * ft - camy;
      const float ext = L.rect ? L.a * 1.4143f : L.a;  // bounding radius
      int xa = std::max(0, int(std::floor(cx - ext))), xb = std::min(W - 1, int(std::ceil(cx + ext)));
      int ya = std::max(0, int(std::floor(cy - ext))), yb = std::min(H - 1, int(std::ceil(cy + ext)));
      for (int y = ya; y <= yb; ++y)
        for (int x = xa; x <= xb; ++x) {
          const float dx = x - cx, dy = y - cy;
          const float u = dx * L.cos_o + dy * L.sin_o, v = -dx * L.sin_o + dy * L.cos_o;
          bool inside = L.rect ? (std::fabs(u) <= L.a && std::fabs(v) <= L.b)
                               : (u * u / (L.a * L.a) + v * v / (L.b * L.b) <= 1.f);
          if (!inside) continue;
          float tex = 0;  // the texture moves with the leaf: it is a function of (dx, dy)
          for (int k = 0; k < L.ng; ++k)
            tex += L.g[k].amp * std::sin(6.2831853f * (L.g[k].kx * dx + L.g[k].ky * dy) + L.g[k].phase);
          for (int ch = 0; ch < 3; ++ch) frame[size_t(ch) * H * W + size_t(y) * W + x] = L.rgb[ch] * (1.f + tex);
        }
    }
    for (int ch = 0; ch < 3; ++ch)
      for (int i = 0; i < H * W; ++i)
        o[ch * plane + t * H * W + i] =
            uint8_t(std::lround(std::clamp(frame[size_t(ch) * H * W + i], 0.f, 1.f) * 255.f));
  }
  return out;
}

}  // namespace mtmap::io
