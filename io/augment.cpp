// Per-clip augmentation. The crop is bilinear resampling of the crop box (mirrored for a flip);
// the colour operations are per-pixel maps whose only data-dependent input, the contrast
// reference grey, is the mean of the whole clip, so the map is literally the same for every frame.
#include "io/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mtmap::io {
namespace {

float clamp01(float v) { return v < 0 ? 0 : (v > 1 ? 1 : v); }
float luma(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }

// Hue rotation by `turns` of a full turn, as a rotation about the grey axis in YIQ space.
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

// Separable Gaussian with reflected borders: rows through a padded copy, then columns as a
// weighted sum of whole rows, so both inner loops are straight and vectorise.
void blur_plane(float* p, int s, double sigma, std::vector<float>& tmp) {
  const int r = std::max(1, int(std::ceil(3 * sigma)));
  std::vector<float> k(static_cast<size_t>(2 * r + 1));
  float sum = 0;
  for (int i = -r; i <= r; ++i) sum += k[size_t(i + r)] = float(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (float& v : k) v /= sum;
  auto reflect = [s](int i) { return i < 0 ? std::min(-i, s - 1) : (i >= s ? std::max(2 * s - 2 - i, 0) : i); };
  tmp.assign(size_t(s) * s, 0.f);
  std::vector<float> pad(size_t(s + 2 * r));
  for (int y = 0; y < s; ++y) {
    const float* row = p + size_t(y) * s;
    for (int i = 0; i < s + 2 * r; ++i) pad[size_t(i)] = row[reflect(i - r)];
    float* o = tmp.data() + size_t(y) * s;
    for (int i = 0; i <= 2 * r; ++i) {
      const float w = k[size_t(i)];
      const float* src = pad.data() + i;
      for (int x = 0; x < s; ++x) o[x] += w * src[x];
    }
  }
  for (int y = 0; y < s; ++y) {
    float* o = p + size_t(y) * s;
    std::fill(o, o + s, 0.f);
    for (int i = 0; i <= 2 * r; ++i) {
      const float w = k[size_t(i)];
      const float* src = tmp.data() + size_t(reflect(y + i - r)) * s;
      for (int x = 0; x < s; ++x) o[x] += w * src[x];
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

void apply_augment(const Tensor& clip, const AugmentParams& p, const AugmentConfig& c, float* out) {
  MTMAP_CHECK(clip.dtype() == DType::u8 && clip.ndim() == 4 && clip.size(0) == 3 && clip.is_contiguous(),
              "augment: expected a contiguous u8 clip (3, T, H, W), got {}", clip.str());
  const int64_t T = clip.size(1), H = clip.size(2), W = clip.size(3);
  const int S = c.size;
  MTMAP_CHECK(p.crop_w > 0 && p.crop_h > 0 && p.crop_x + p.crop_w <= W + 1e-6 && p.crop_y + p.crop_h <= H + 1e-6,
              "augment: crop box ({}, {}, {}x{}) outside the {}x{} frame", p.crop_x, p.crop_y, p.crop_w, p.crop_h, W,
              H);
  const uint8_t* src = clip.data<uint8_t>();
  const int64_t plane = T * H * W, oplane = T * int64_t(S) * S, opx = int64_t(S) * S;

  // Bilinear taps, shared by every frame (pixel centres aligned, as align_corners=false).
  std::vector<int> tap_x(static_cast<size_t>(S)), tap_y(static_cast<size_t>(S));
  std::vector<float> fx(static_cast<size_t>(S)), fy(static_cast<size_t>(S));
  for (int i = 0; i < S; ++i) {
    int xi = p.flip ? S - 1 - i : i;
    double sx = p.crop_x + (xi + 0.5) * p.crop_w / S - 0.5, sy = p.crop_y + (i + 0.5) * p.crop_h / S - 0.5;
    sx = std::clamp(sx, 0.0, double(W - 1));
    sy = std::clamp(sy, 0.0, double(H - 1));
    tap_x[size_t(i)] = std::min(int(sx), int(W) - 2 < 0 ? 0 : int(W) - 2);
    tap_y[size_t(i)] = std::min(int(sy), int(H) - 2 < 0 ? 0 : int(H) - 2);
    fx[size_t(i)] = W > 1 ? float(sx - tap_x[size_t(i)]) : 0.f;
    fy[size_t(i)] = H > 1 ? float(sy - tap_y[size_t(i)]) : 0.f;
  }
  const int64_t dx = W > 1 ? 1 : 0, dy = H > 1 ? W : 0;
  for (int ch = 0; ch < 3; ++ch)
    for (int64_t t = 0; t < T; ++t) {
      const uint8_t* f = src + ch * plane + t * H * W;
      float* o = out + ch * oplane + t * opx;
      for (int y = 0; y < S; ++y) {
        const uint8_t* row = f + int64_t(tap_y[size_t(y)]) * W;
        const float wy = fy[size_t(y)];
        for (int x = 0; x < S; ++x) {
          const uint8_t* q = row + tap_x[size_t(x)];
          const float wx = fx[size_t(x)];
          float top = q[0] + wx * (float(q[dx]) - q[0]), bot = q[dy] + wx * (float(q[dy + dx]) - q[dy]);
          o[y * S + x] = (top + wy * (bot - top)) * (1.0f / 255.0f);
        }
      }
    }

  float* r = out;
  float* g = out + oplane;
  float* b = out + 2 * oplane;
  if (p.jitter) {
    float hm[9];
    hue_matrix(p.hue, hm);
    for (int op : p.order) {
      // A factor of 1 (or a hue shift of 0) is skipped: exactly the identity, and no work.
      if ((op == 0 && p.brightness == 1) || (op == 1 && p.contrast == 1) || (op == 2 && p.saturation == 1) ||
          (op == 3 && p.hue == 0))
        continue;
      if (op == 0) {
        for (int64_t i = 0; i < oplane; ++i) {
          r[i] = clamp01(r[i] * float(p.brightness));
          g[i] = clamp01(g[i] * float(p.brightness));
          b[i] = clamp01(b[i] * float(p.brightness));
        }
      } else if (op == 1) {
        double m = 0;  // the clip's mean grey: one reference for every frame
        for (int64_t i = 0; i < oplane; ++i) m += luma(r[i], g[i], b[i]);
        const float mean = float(m / double(oplane)), k = float(p.contrast);
        for (int64_t i = 0; i < oplane; ++i) {
          r[i] = clamp01(mean + k * (r[i] - mean));
          g[i] = clamp01(mean + k * (g[i] - mean));
          b[i] = clamp01(mean + k * (b[i] - mean));
        }
      } else if (op == 2) {
        const float k = float(p.saturation);
        for (int64_t i = 0; i < oplane; ++i) {
          float l = luma(r[i], g[i], b[i]);
          r[i] = clamp01(l + k * (r[i] - l));
          g[i] = clamp01(l + k * (g[i] - l));
          b[i] = clamp01(l + k * (b[i] - l));
        }
      } else {
        for (int64_t i = 0; i < oplane; ++i) {
          float R = r[i], G = g[i], B = b[i];
          r[i] = clamp01(hm[0] * R + hm[1] * G + hm[2] * B);
          g[i] = clamp01(hm[3] * R + hm[4] * G + hm[5] * B);
          b[i] = clamp01(hm[6] * R + hm[7] * G + hm[8] * B);
        }
      }
    }
  }
  if (p.grayscale)
    for (int64_t i = 0; i < oplane; ++i) r[i] = g[i] = b[i] = luma(r[i], g[i], b[i]);
  if (p.blur_sigma > 0) {
    std::vector<float> tmp;
    for (int ch = 0; ch < 3; ++ch)
      for (int64_t t = 0; t < T; ++t) blur_plane(out + ch * oplane + t * opx, S, p.blur_sigma, tmp);
  }
  for (int ch = 0; ch < 3; ++ch) {
    const float m = c.mean[size_t(ch)], inv = 1.0f / c.std[size_t(ch)];
    float* o = out + ch * oplane;
    for (int64_t i = 0; i < oplane; ++i) o[i] = (o[i] - m) * inv;
  }
}

Tensor augment_clip(const Tensor& clip, const AugmentParams& p, const AugmentConfig& c) {
  Tensor out = empty({3, clip.size(1), c.size, c.size}, DType::f32);
  apply_augment(clip, p, c, out.data<float>());
  return out;
}

}  // namespace mtmap::io
