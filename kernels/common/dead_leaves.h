#pragma once
// A dead-leaves scene as both renderers draw it: io/dead_leaves.h makes the scene (the leaves, in
// painting order, and the camera's velocity); the CPU renderer (io/dead_leaves.cpp) and the CUDA
// kernel (kernels/cuda/dead_leaves.cu) draw it. The geometry and the texture recurrence are
// written here once for both, every product and sum rounded on its own (nvcc would otherwise fuse
// them into FMAs; host code is compiled without contraction), so the two give the same pixels.
#include <cmath>
#include <cstdint>

#include "kernels/common/host_device.h"
#include "kernels/common/rounded.h"

namespace mtmap::dead_leaves {

struct Grating {
  float kx, ky, phase, amp;  // cycles/px in the leaf's frame, radians, amplitude
};

struct Leaf {
  float x, y, vx, vy;        // world position at t = 0 and velocity (px, px/frame)
  float a, b, cos_o, sin_o;  // half-axes and orientation
  int32_t rect;              // 1: a rectangle, 0: an ellipse
  int32_t ng;                // gratings of its texture (≤ 4)
  float rgb[3];
  Grating g[4];
};

// The background grey where no leaf lies.
inline constexpr float kBackground = 0.5f;
inline constexpr float kTwoPi = 6.2831853f;

using rounded::fadd;
using rounded::fdiv;
using rounded::fmul;
using rounded::fsub;

// sin and cos of a float, correctly rounded on the device too (through double), as the host's
// sinf and cosf give them: the texture then starts from the same values on both.
MTMAP_HD inline float fsin(float x) {
#if defined(__CUDA_ARCH__)
  return float(sin(double(x)));
#else
  return sinf(x);
#endif
}
MTMAP_HD inline float fcos(float x) {
#if defined(__CUDA_ARCH__)
  return float(cos(double(x)));
#else
  return cosf(x);
#endif
}

// The leaf's centre on screen at frame t: world position, moved by its velocity, minus the
// camera's offset (cam = float(camera velocity · t), computed in double by the caller).
MTMAP_HD inline float screen_x(const Leaf& L, float t, float cam) { return fsub(fadd(L.x, fmul(L.vx, t)), cam); }
MTMAP_HD inline float screen_y(const Leaf& L, float t, float cam) { return fsub(fadd(L.y, fmul(L.vy, t)), cam); }
// Radius of the leaf's bounding circle.
MTMAP_HD inline float bounding_radius(const Leaf& L) { return L.rect ? fmul(L.a, 1.4143f) : L.a; }

// The interval [lo, hi] of dx = x − cx inside leaf L on the row at dy = y − cy; false if none.
// With u = dx·cos + dy·sin and v = −dx·sin + dy·cos: an ellipse is (u/a)² + (v/b)² ≤ 1 (a quadratic
// in dx), a rectangle is |u| ≤ a and |v| ≤ b (two slabs in dx).
MTMAP_HD inline bool slab(float k, float off, float half, float& lo, float& hi) {
  if (fabsf(k) < 1e-6f) return fabsf(off) <= half;
  float t0 = fdiv(fsub(-half, off), k), t1 = fdiv(fsub(half, off), k);
  if (t0 > t1) {
    const float s = t0;
    t0 = t1, t1 = s;
  }
  lo = lo > t0 ? lo : t0;
  hi = hi < t1 ? hi : t1;
  return lo <= hi;
}
MTMAP_HD inline bool row_span(const Leaf& L, float dy, float& lo, float& hi) {
  const float c = L.cos_o, s = L.sin_o;
  if (!L.rect) {
    const float ia = fdiv(1.f, fmul(L.a, L.a)), ib = fdiv(1.f, fmul(L.b, L.b));
    const float A = fadd(fmul(fmul(c, c), ia), fmul(fmul(s, s), ib));
    const float B = fmul(fmul(fmul(fmul(2.f, dy), c), s), fsub(ia, ib));
    const float C = fsub(fmul(fmul(dy, dy), fadd(fmul(fmul(s, s), ia), fmul(fmul(c, c), ib))), 1.f);
    const float disc = fsub(fmul(B, B), fmul(fmul(4.f, A), C));
    if (disc < 0) return false;
    const float r = sqrtf(disc);
    lo = fdiv(fsub(-B, r), fmul(2.f, A)), hi = fdiv(fadd(-B, r), fmul(2.f, A));
    return true;
  }
  lo = -1e30f, hi = 1e30f;
  // |dx·c + dy·s| ≤ a and |−dx·s + dy·c| ≤ b
  return slab(c, fmul(dy, s), L.a, lo, hi) && slab(-s, fmul(dy, c), L.b, lo, hi);
}

// The texture along a row: each grating's sine advances by a fixed angle per pixel, so (sin, cos)
// is rotated rather than recomputed. `start` sets it up at pixel x0 of the row at dy, `step` takes
// one pixel and returns the texture there (the value at x0 first).
struct RowTexture {
  float sn[4], cs[4], rot_c[4], rot_s[4];
  int ng;
  MTMAP_HD void start(const Leaf& L, float x0_minus_cx, float dy) {
    ng = L.ng;
    for (int k = 0; k < ng; ++k) {
      rot_c[k] = fcos(fmul(kTwoPi, L.g[k].kx));
      rot_s[k] = fsin(fmul(kTwoPi, L.g[k].kx));
      const float ph = fadd(fmul(kTwoPi, fadd(fmul(L.g[k].kx, x0_minus_cx), fmul(L.g[k].ky, dy))), L.g[k].phase);
      sn[k] = fsin(ph), cs[k] = fcos(ph);
    }
  }
  MTMAP_HD float step(const Leaf& L) {
    float tex = 0;
    for (int k = 0; k < ng; ++k) {
      tex = fadd(tex, fmul(L.g[k].amp, sn[k]));
      const float s1 = fadd(fmul(sn[k], rot_c[k]), fmul(cs[k], rot_s[k]));
      cs[k] = fsub(fmul(cs[k], rot_c[k]), fmul(sn[k], rot_s[k]));
      sn[k] = s1;
    }
    return tex;
  }
};

// A pixel's value in [0, 1] as the 8-bit level both renderers store.
MTMAP_HD inline uint8_t to_level(float v) {
  v = v < 0.f ? 0.f : v > 1.f ? 1.f : v;
  return uint8_t(lroundf(fmul(v, 255.f)));
}

}  // namespace mtmap::dead_leaves
