#pragma once
// A clip's augmentation as both sides apply it: io/augment.cpp on the CPU and
// kernels/cuda/augment.cu on a CUDA device. The host samples the parameters (io::sample_augment)
// and turns them into a plan (the bilinear taps of the crop, the hue matrix, the blur weights); the
// per-pixel arithmetic below is written once for both, each operation rounded on its own
// (kernels/common/rounded.h), so a device batch equals the CPU loader's bit for bit, but for the
// contrast operation's reference grey, a sum over the clip whose order differs (docs/data.md).
#include <cstdint>

#include "kernels/common/host_device.h"
#include "kernels/common/rounded.h"

namespace mtmap::augment {

using rounded::fadd;
using rounded::fmul;
using rounded::fsub;

// The colour operations in the order io::AugmentParams::order names them.
enum ColourOp : int32_t { kBrightness = 0, kContrast = 1, kSaturation = 2, kHue = 3 };

inline constexpr int kMaxBlurRadius = 16;  // taps 2r + 1; σ up to 5.3 output pixels

// One clip of a device batch: where its frames come from and every parameter of its augmentation.
// The crop's bilinear taps are per output column and row, in tables beside the plans.
struct ClipPlan {
  int32_t video;          // which of the batch's rendered videos
  int32_t start, stride;  // its frames start, start + stride, …
  int32_t jitter;         // colour jitter on
  int32_t order[4];       // ColourOp applied first, second, …
  int32_t active[4];      // the op at that position changes the pixels (a factor of 1 is skipped)
  float brightness, contrast, saturation;
  float hue[9];           // the hue rotation as an RGB matrix
  int32_t grayscale;
  int32_t blur_radius;    // 0: no blur
  float blur[2 * kMaxBlurRadius + 1];
  float mean[3], inv_std[3];  // normalisation
};

MTMAP_HD inline float clamp01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }
MTMAP_HD inline float luma(float r, float g, float b) {
  return fadd(fadd(fmul(0.299f, r), fmul(0.587f, g)), fmul(0.114f, b));
}

// Bilinear sample of a u8 frame at the taps (x0, fx) and (y0, fy), dx and dy the steps to the
// next column and row (0 in a one-pixel-wide frame), scaled to [0, 1].
MTMAP_HD inline float bilinear(const uint8_t* q, int64_t dx, int64_t dy, float wx, float wy) {
  const float a = float(q[0]), b = float(q[dx]), c = float(q[dy]), d = float(q[dy + dx]);
  const float top = fadd(a, fmul(wx, fsub(b, a))), bot = fadd(c, fmul(wx, fsub(d, c)));
  return fmul(fadd(top, fmul(wy, fsub(bot, top))), 1.0f / 255.0f);
}

MTMAP_HD inline void brightness(float& r, float& g, float& b, float k) {
  r = clamp01(fmul(r, k)), g = clamp01(fmul(g, k)), b = clamp01(fmul(b, k));
}
// Toward (or away from) `mean`, the clip's mean grey.
MTMAP_HD inline void contrast(float& r, float& g, float& b, float k, float mean) {
  r = clamp01(fadd(mean, fmul(k, fsub(r, mean))));
  g = clamp01(fadd(mean, fmul(k, fsub(g, mean))));
  b = clamp01(fadd(mean, fmul(k, fsub(b, mean))));
}
MTMAP_HD inline void saturation(float& r, float& g, float& b, float k) {
  const float l = luma(r, g, b);
  r = clamp01(fadd(l, fmul(k, fsub(r, l))));
  g = clamp01(fadd(l, fmul(k, fsub(g, l))));
  b = clamp01(fadd(l, fmul(k, fsub(b, l))));
}
MTMAP_HD inline void hue(float& r, float& g, float& b, const float m[9]) {
  const float R = r, G = g, B = b;
  r = clamp01(fadd(fadd(fmul(m[0], R), fmul(m[1], G)), fmul(m[2], B)));
  g = clamp01(fadd(fadd(fmul(m[3], R), fmul(m[4], G)), fmul(m[5], B)));
  b = clamp01(fadd(fadd(fmul(m[6], R), fmul(m[7], G)), fmul(m[8], B)));
}
MTMAP_HD inline float normalise(float v, float mean, float inv_std) { return fmul(fsub(v, mean), inv_std); }

// Reflected border index of a blur tap (i may lie up to the radius outside [0, s)).
MTMAP_HD inline int reflect(int i, int s) {
  return i < 0 ? (-i < s - 1 ? -i : s - 1) : (i >= s ? (2 * s - 2 - i > 0 ? 2 * s - 2 - i : 0) : i);
}

}  // namespace mtmap::augment
