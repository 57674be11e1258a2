// Per-clip augmentation. The crop is bilinear resampling of the crop box (mirrored for a flip);
// the colour operations are per-pixel maps whose only data-dependent input, the contrast
// reference grey, is the mean of the whole clip, so the map is literally the same for every frame.
#include "io/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/common/augment.h"

namespace mtmap::io {
namespace {

// Separable Gaussian with reflected borders: rows through a padded copy, then columns as a
// weighted sum of whole rows, so both inner loops are straight and vectorise.
void blur_plane(float* p, int s, const std::vector<float>& k, std::vector<float>& tmp) {
  using augment::fadd;
  using augment::fmul;
  const int r = int(k.size() / 2);
  auto reflect = [s](int i) { return augment::reflect(i, s); };
  tmp.assign(size_t(s) * s, 0.f);
  std::vector<float> pad(size_t(s + 2 * r));
  for (int y = 0; y < s; ++y) {
    const float* row = p + size_t(y) * s;
    for (int i = 0; i < s + 2 * r; ++i) pad[size_t(i)] = row[reflect(i - r)];
    float* o = tmp.data() + size_t(y) * s;
    for (int i = 0; i <= 2 * r; ++i) {
      const float w = k[size_t(i)];
      const float* src = pad.data() + i;
      for (int x = 0; x < s; ++x) o[x] = fadd(o[x], fmul(w, src[x]));
    }
  }
  for (int y = 0; y < s; ++y) {
    float* o = p + size_t(y) * s;
    std::fill(o, o + s, 0.f);
    for (int i = 0; i <= 2 * r; ++i) {
      const float w = k[size_t(i)];
      const float* src = tmp.data() + size_t(reflect(y + i - r)) * s;
      for (int x = 0; x < s; ++x) o[x] = fadd(o[x], fmul(w, src[x]));
    }
  }
}

}  // namespace

AugmentParams sample_augment(const AugmentConfig& c, int height, int width, Rng& rng) {
  AugmentParams p;
  if (!c.random) {  // the largest centred square
    int side = std::min(height, width);
    p.crop_w = p.crop_h = side;
    p.crop_x = (width - side) / 2.0;
    p.crop_y = (height - side) / 2.0;
    return p;
  }
  // Random resized crop as in torchvision: 10 tries at area x aspect, else the centred frame.
  const double area = double(height) * width;
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    double a = area * rng.uniform(c.area_min, c.area_max);
    double ar = std::exp(rng.uniform(std::log(c.aspect_min), std::log(c.aspect_max)));
    double w = std::sqrt(a * ar), h = std::sqrt(a / ar);
    if (w <= width && h <= height) {
      p.crop_w = w, p.crop_h = h;
      p.crop_x = rng.uniform(0, width - w);
      p.crop_y = rng.uniform(0, height - h);
      found = true;
    }
  }
  if (!found) {
    p.crop_w = width, p.crop_h = height;
  }
  p.flip = rng.bernoulli(c.flip_p);
  p.jitter = rng.bernoulli(c.jitter_p);
  if (p.jitter) {
    p.brightness = rng.uniform(std::max(0.0, 1 - c.brightness), 1 + c.brightness);
    p.contrast = rng.uniform(std::max(0.0, 1 - c.contrast), 1 + c.contrast);
    p.saturation = rng.uniform(std::max(0.0, 1 - c.saturation), 1 + c.saturation);
    p.hue = rng.uniform(-c.hue, c.hue);
    for (int i = 3; i > 0; --i) std::swap(p.order[size_t(i)], p.order[size_t(rng.integer(i + 1))]);
  }
  p.grayscale = rng.bernoulli(c.grayscale_p);
  if (rng.bernoulli(c.blur_p)) p.blur_sigma = rng.uniform(c.blur_sigma_min, c.blur_sigma_max);
  return p;
}

void hue_matrix(double turns, float m[9]) {
  const double a = turns * 2 * M_PI, c = std::cos(a), s = std::sin(a);
  const double to_yiq[9] = {0.299, 0.587, 0.114, 0.596, -0.274, -0.322, 0.211, -0.523, 0.312};
  const double to_rgb[9] = {1.0, 0.956, 0.621, 1.0, -0.272, -0.647, 1.0, -1.106, 1.703};
  const double rot[9] = {1, 0, 0, 0, c, -s, 0, s, c};
  double t[9];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      t[i * 3 + j] = 0;
      for (int k = 0; k < 3; ++k) t[i * 3 + j] += rot[i * 3 + k] * to_yiq[k * 3 + j];
    }
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double v = 0;
      for (int k = 0; k < 3; ++k) v += to_rgb[i * 3 + k] * t[k * 3 + j];
      m[i * 3 + j] = float(v);
    }
}

std::vector<float> blur_weights(double sigma) {
  const int r = std::max(1, int(std::ceil(3 * sigma)));
  std::vector<float> k(static_cast<size_t>(2 * r + 1));
  float sum = 0;
  for (int i = -r; i <= r; ++i) sum += k[size_t(i + r)] = float(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (float& v : k) v /= sum;
  return k;
}

CropTaps crop_taps(const AugmentParams& p, int S, int64_t H, int64_t W) {
  MTMAP_CHECK(p.crop_w > 0 && p.crop_h > 0 && p.crop_x + p.crop_w <= W + 1e-6 && p.crop_y + p.crop_h <= H + 1e-6,
              "augment: crop box ({}, {}, {}x{}) outside the {}x{} frame", p.crop_x, p.crop_y, p.crop_w, p.crop_h, W,
              H);
  // Pixel centres aligned, as align_corners=false; a flip mirrors the columns.
  CropTaps t;
  t.x.resize(size_t(S)), t.y.resize(size_t(S)), t.fx.resize(size_t(S)), t.fy.resize(size_t(S));
  for (int i = 0; i < S; ++i) {
    int xi = p.flip ? S - 1 - i : i;
    double sx = p.crop_x + (xi + 0.5) * p.crop_w / S - 0.5, sy = p.crop_y + (i + 0.5) * p.crop_h / S - 0.5;
    sx = std::clamp(sx, 0.0, double(W - 1));
    sy = std::clamp(sy, 0.0, double(H - 1));
    t.x[size_t(i)] = std::min(int(sx), int(W) - 2 < 0 ? 0 : int(W) - 2);
    t.y[size_t(i)] = std::min(int(sy), int(H) - 2 < 0 ? 0 : int(H) - 2);
    t.fx[size_t(i)] = W > 1 ? float(sx - t.x[size_t(i)]) : 0.f;
    t.fy[size_t(i)] = H > 1 ? float(sy - t.y[size_t(i)]) : 0.f;
  }
  return t;
}

void apply_augment(const Tensor& clip, const AugmentParams& p, const AugmentConfig& c, float* out) {
  MTMAP_CHECK(clip.dtype() == DType::u8 && clip.ndim() == 4 && clip.size(0) == 3 && clip.is_contiguous(),
              "augment: expected a contiguous u8 clip (3, T, H, W), got {}", clip.str());
  const int64_t T = clip.size(1), H = clip.size(2), W = clip.size(3);
  const int S = c.size;
  const CropTaps taps = crop_taps(p, S, H, W);
  const uint8_t* src = clip.data<uint8_t>();
  const int64_t plane = T * H * W, oplane = T * int64_t(S) * S, opx = int64_t(S) * S;
  const int64_t dx = W > 1 ? 1 : 0, dy = H > 1 ? W : 0;
  for (int ch = 0; ch < 3; ++ch)
    for (int64_t t = 0; t < T; ++t) {
      const uint8_t* f = src + ch * plane + t * H * W;
      float* o = out + ch * oplane + t * opx;
      for (int y = 0; y < S; ++y) {
        const uint8_t* row = f + int64_t(taps.y[size_t(y)]) * W;
        const float wy = taps.fy[size_t(y)];
        for (int x = 0; x < S; ++x) o[y * S + x] = augment::bilinear(row + taps.x[size_t(x)], dx, dy, taps.fx[size_t(x)], wy);
      }
    }

  float* r = out;
  float* g = out + oplane;
  float* b = out + 2 * oplane;
  if (p.jitter) {
    float hm[9];
    hue_matrix(p.hue, hm);
    const float kb = float(p.brightness), kc = float(p.contrast), ks = float(p.saturation);
    for (int op : p.order) {
      // A factor of 1 (or a hue shift of 0) is skipped: exactly the identity, and no work.
      if (!colour_op_active(p, op)) continue;
      if (op == augment::kBrightness) {
        for (int64_t i = 0; i < oplane; ++i) augment::brightness(r[i], g[i], b[i], kb);
      } else if (op == augment::kContrast) {
        const float mean = mean_grey(r, g, b, oplane);  // one reference for every frame
        for (int64_t i = 0; i < oplane; ++i) augment::contrast(r[i], g[i], b[i], kc, mean);
      } else if (op == augment::kSaturation) {
        for (int64_t i = 0; i < oplane; ++i) augment::saturation(r[i], g[i], b[i], ks);
      } else {
        for (int64_t i = 0; i < oplane; ++i) augment::hue(r[i], g[i], b[i], hm);
      }
    }
  }
  if (p.grayscale)
    for (int64_t i = 0; i < oplane; ++i) r[i] = g[i] = b[i] = augment::luma(r[i], g[i], b[i]);
  if (p.blur_sigma > 0) {
    const std::vector<float> k = blur_weights(p.blur_sigma);
    std::vector<float> tmp;
    for (int ch = 0; ch < 3; ++ch)
      for (int64_t t = 0; t < T; ++t) blur_plane(out + ch * oplane + t * opx, S, k, tmp);
  }
  for (int ch = 0; ch < 3; ++ch) {
    const float m = c.mean[size_t(ch)], inv = 1.0f / c.std[size_t(ch)];
    float* o = out + ch * oplane;
    for (int64_t i = 0; i < oplane; ++i) o[i] = augment::normalise(o[i], m, inv);
  }
}

bool colour_op_active(const AugmentParams& p, int op) {
  return !((op == 0 && p.brightness == 1) || (op == 1 && p.contrast == 1) || (op == 2 && p.saturation == 1) ||
           (op == 3 && p.hue == 0));
}

float mean_grey(const float* r, const float* g, const float* b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m += augment::luma(r[i], g[i], b[i]);
  return float(m / double(n));
}

augment::ClipPlan clip_plan(const AugmentParams& p, const AugmentConfig& c) {
  augment::ClipPlan plan{};
  plan.jitter = p.jitter ? 1 : 0;
  for (int k = 0; k < 4; ++k) {
    plan.order[k] = p.order[size_t(k)];
    plan.active[k] = p.jitter && colour_op_active(p, p.order[size_t(k)]) ? 1 : 0;
  }
  plan.brightness = float(p.brightness), plan.contrast = float(p.contrast), plan.saturation = float(p.saturation);
  hue_matrix(p.hue, plan.hue);
  plan.grayscale = p.grayscale ? 1 : 0;
  if (p.blur_sigma > 0) {
    const std::vector<float> k = blur_weights(p.blur_sigma);
    plan.blur_radius = int32_t(k.size() / 2);
    MTMAP_CHECK(plan.blur_radius <= augment::kMaxBlurRadius,
                "augment: a blur of σ = {} px needs radius {}, more than the device path's {}", p.blur_sigma,
                plan.blur_radius, augment::kMaxBlurRadius);
    std::copy(k.begin(), k.end(), plan.blur);
  }
  for (int ch = 0; ch < 3; ++ch) plan.mean[ch] = c.mean[size_t(ch)], plan.inv_std[ch] = 1.0f / c.std[size_t(ch)];
  return plan;
}

Tensor augment_clip(const Tensor& clip, const AugmentParams& p, const AugmentConfig& c) {
  Tensor out = empty({3, clip.size(1), c.size, c.size}, DType::f32);
  apply_augment(clip, p, c, out.data<float>());
  return out;
}

}  // namespace mtmap::io
