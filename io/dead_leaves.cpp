// Dead-leaves scenes (drawn from the seed) and their CPU rendering: the scene is drawn back to
// front (painter's algorithm) in world coordinates that move with each leaf; the camera offset is
// subtracted per frame. The per-leaf geometry is kernels/common/dead_leaves.h, shared with the
// CUDA renderer.
#include "io/dead_leaves.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "io/rng.h"

namespace mtmap::io {

using dead_leaves::Leaf;

DeadLeavesScene make_dead_leaves_scene(const DeadLeavesConfig& c, uint64_t seed, uint64_t index) {
  MTMAP_CHECK(c.height > 0 && c.width > 0 && c.frames > 0 && c.radius_min > 0 && c.radius_max >= c.radius_min &&
                  c.texture_gratings >= 0 && c.texture_gratings <= 4,
              "dead leaves: invalid config ({}x{}, {} frames, radii {}..{}, {} gratings)", c.width, c.height, c.frames,
              c.radius_min, c.radius_max, c.texture_gratings);
  Rng rng(seed, mix_key(index, 0xDEAD1EAF));
  const int H = c.height, W = c.width;
  const int64_t T = c.frames;
  DeadLeavesScene scene;
  const double cam_dir = rng.uniform(0, 2 * M_PI), cam_speed = c.camera_speed_max * std::sqrt(rng.uniform());
  const double cvx = cam_speed * std::cos(cam_dir), cvy = cam_speed * std::sin(cam_dir);
  scene.camera_vx = cvx, scene.camera_vy = cvy;

  // The scene must cover the screen at every frame: the screen swept by the camera, plus room
  // for leaves that drift in from outside.
  const double margin = c.radius_max + (c.object_speed_max + c.camera_speed_max) * double(T);
  const double x_lo = std::min(0.0, cvx * double(T)) - margin, x_hi = W + std::max(0.0, cvx * double(T)) + margin;
  const double y_lo = std::min(0.0, cvy * double(T)) - margin, y_hi = H + std::max(0.0, cvy * double(T)) + margin;
  // Mean leaf area under p(r) ∝ r^-3 on [rmin, rmax]: π E[r²] = π·2 rmin² rmax² ln(rmax/rmin)/(rmax² − rmin²).
  const double r0 = c.radius_min, r1 = c.radius_max;
  const double er2 = r1 > r0 ? 2 * r0 * r0 * r1 * r1 * std::log(r1 / r0) / (r1 * r1 - r0 * r0) : r0 * r0;
  const int64_t n = int64_t(c.coverage * (x_hi - x_lo) * (y_hi - y_lo) / (M_PI * er2 * 0.8)) + 1;

  for (int64_t i = 0; i < n; ++i) {
    Leaf L{};
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
    L.rect = rng.bernoulli(0.4) ? 1 : 0;
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
    scene.leaves.push_back(L);
  }
  return scene;
}

Tensor generate_dead_leaves(const DeadLeavesConfig& c, uint64_t seed, uint64_t index) {
  const DeadLeavesScene scene = make_dead_leaves_scene(c, seed, index);
  const int H = c.height, W = c.width;
  const int64_t T = c.frames;
  std::vector<float> frame(size_t(3) * H * W);
  Tensor out = empty({3, T, H, W}, DType::u8);
  uint8_t* o = out.data<uint8_t>();
  const int64_t plane = T * H * W;
  for (int64_t t = 0; t < T; ++t) {
    std::fill(frame.begin(), frame.end(), dead_leaves::kBackground);
    const float ft = float(t), camx = float(scene.camera_vx * double(t)), camy = float(scene.camera_vy * double(t));
    // Painter's algorithm: back to front, each leaf over what is already drawn.
    for (const Leaf& L : scene.leaves) {
      const float cx = dead_leaves::screen_x(L, ft, camx), cy = dead_leaves::screen_y(L, ft, camy);
      const float ext = dead_leaves::bounding_radius(L);
      int xa = std::max(0, int(std::floor(cx - ext))), xb = std::min(W - 1, int(std::ceil(cx + ext)));
      int ya = std::max(0, int(std::floor(cy - ext))), yb = std::min(H - 1, int(std::ceil(cy + ext)));
      for (int y = ya; y <= yb; ++y) {
        const float dy = float(y) - cy;
        // The run of pixels of this row inside the leaf, solved for directly.
        float lo, hi;
        if (!dead_leaves::row_span(L, dy, lo, hi)) continue;
        const int x0 = std::max(xa, int(std::ceil(cx + lo))), x1 = std::min(xb, int(std::floor(cx + hi)));
        if (x0 > x1) continue;
        // The texture moves with the leaf (a function of x − cx, y − cy).
        dead_leaves::RowTexture tex;
        tex.start(L, float(x0) - cx, dy);
        float* out = frame.data() + size_t(y) * W;
        for (int x = x0; x <= x1; ++x) {
          const float v = 1.f + tex.step(L);
          for (int ch = 0; ch < 3; ++ch) out[size_t(ch) * H * W + x] = L.rgb[ch] * v;
        }
      }
    }
    for (int ch = 0; ch < 3; ++ch)
      for (int i = 0; i < H * W; ++i) o[ch * plane + t * H * W + i] = dead_leaves::to_level(frame[size_t(ch) * H * W + i]);
  }
  return out;
}

#if !defined(MTMAP_WITH_CUDA)
Tensor generate_dead_leaves(const DeadLeavesConfig& c, uint64_t seed, uint64_t index, const Device& device) {
  MTMAP_CHECK(device.is_cpu(), "dead leaves on {}: this build of mtmap has no CUDA backend", device.str());
  return generate_dead_leaves(c, seed, index);
}
#endif

}  // namespace mtmap::io
