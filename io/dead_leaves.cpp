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

// The interval [lo, hi] of dx = x − cx inside leaf L on the row at dy = y − cy; false if none.
// With u = dx·cos + dy·sin and v = −dx·sin + dy·cos: an ellipse is (u/a)² + (v/b)² ≤ 1 (a quadratic
// in dx), a rectangle is |u| ≤ a and |v| ≤ b (two slabs in dx).
bool row_span(const Leaf& L, float dy, float& lo, float& hi) {
  const float c = L.cos_o, s = L.sin_o;
  if (!L.rect) {
    const float ia = 1.f / (L.a * L.a), ib = 1.f / (L.b * L.b);
    const float A = c * c * ia + s * s * ib, B = 2 * dy * c * s * (ia - ib),
                C = dy * dy * (s * s * ia + c * c * ib) - 1;
    const float disc = B * B - 4 * A * C;
    if (disc < 0) return false;
    const float r = std::sqrt(disc);
    lo = (-B - r) / (2 * A), hi = (-B + r) / (2 * A);
    return true;
  }
  lo = -1e30f, hi = 1e30f;
  // |dx·c + dy·s| ≤ a and |−dx·s + dy·c| ≤ b
  auto slab = [&](float k, float off, float half) {
    if (std::fabs(k) < 1e-6f) return std::fabs(off) <= half;
    float t0 = (-half - off) / k, t1 = (half - off) / k;
    if (t0 > t1) std::swap(t0, t1);
    lo = std::max(lo, t0), hi = std::min(hi, t1);
    return lo <= hi;
  };
  return slab(c, dy * s, L.a) && slab(-s, dy * c, L.b);
}

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

  std::vector<Leaf> leaves;
  for (int64_t i = 0; i < n; ++i) {
    Leaf L;
    // Inverse CDF of p(r) ∝ r^-3: 1/r² uniform between 1/rmax² and 1/rmin².
    double u = rng.uniform();
    double r = 1.0 / std::sqrt(1.0 / (r0 * r0) + u * (1.0 / (r1 * r1) - 1.0 / (r0 * r0)));
    L.x = float(rng.uniform(x_lo, x_hi)), L.y = float(rng.uniform(y_lo, y_hi));
    double dir = rng.uniform(0, 2 * M_PI), speed = c.object_speed_max * std::sqrt(rng.uniform());
    L.vx = float(speed * std::cos(dir)), L.vy = float(speed * std::sin(dir));
    // Most of the scene never crosses the screen: skip those leaves before drawing the rest. The
    // test is on the box swept by the leaf's bounding circle in screen coordinates.
    const double ext = r * 1.4143, ex = (L.vx - cvx) * double(T - 1), ey = (L.vy - cvy) * double(T - 1);
    if (std::max<double>(L.x, L.x + ex) + ext < 0 || std::min<double>(L.x, L.x + ex) - ext > W ||
        std::max<double>(L.y, L.y + ey) + ext < 0 || std::min<double>(L.y, L.y + ey) - ext > H)
      continue;
    double elong = rng.uniform(0.5, 1.0), o = rng.uniform(0, M_PI);
    L.a = float(r), L.b = float(r * elong), L.cos_o = float(std::cos(o)), L.sin_o = float(std::sin(o));
    L.rect = rng.bernoulli(0.4);
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
    leaves.push_back(L);
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
      // The texture moves with the leaf (a function of x − cx, y − cy). Along a row each grating's
      // sine advances by a fixed angle: rotate (sin, cos) instead of calling sin per pixel.
      float rot_c[4], rot_s[4];
      for (int k = 0; k < L.ng; ++k) {
        rot_c[k] = std::cos(6.2831853f * L.g[k].kx);
        rot_s[k] = std::sin(6.2831853f * L.g[k].kx);
      }
      for (int y = ya; y <= yb; ++y) {
        const float dy = y - cy;
        // The run of pixels of this row inside the leaf, solved for directly.
        float lo, hi;
        if (!row_span(L, dy, lo, hi)) continue;
        const int x0 = std::max(xa, int(std::ceil(cx + lo))), x1 = std::min(xb, int(std::floor(cx + hi)));
        if (x0 > x1) continue;
        float sn[4], cs[4];
        for (int k = 0; k < L.ng; ++k) {
          const float ph = 6.2831853f * (L.g[k].kx * (x0 - cx) + L.g[k].ky * dy) + L.g[k].phase;
          sn[k] = std::sin(ph), cs[k] = std::cos(ph);
        }
        float* out = frame.data() + size_t(y) * W;
        for (int x = x0; x <= x1; ++x) {
          float tex = 0;
          for (int k = 0; k < L.ng; ++k) {
            tex += L.g[k].amp * sn[k];
            const float s1 = sn[k] * rot_c[k] + cs[k] * rot_s[k];
            cs[k] = cs[k] * rot_c[k] - sn[k] * rot_s[k];
            sn[k] = s1;
          }
          for (int ch = 0; ch < 3; ++ch) out[size_t(ch) * H * W + x] = L.rgb[ch] * (1.f + tex);
        }
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
