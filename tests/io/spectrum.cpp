#include "tests/io/spectrum.h"

#include <cmath>
#include <stdexcept>

namespace mtmap::test {
namespace {

void fft1(cd* a, int n, int64_t stride) {
  for (int i = 1, j = 0; i < n; ++i) {  // bit reversal
    int bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i * stride], a[j * stride]);
  }
  for (int len = 2; len <= n; len <<= 1) {
    cd w(std::cos(-2 * M_PI / len), std::sin(-2 * M_PI / len));
    for (int i = 0; i < n; i += len) {
      cd wn(1);
      for (int k = 0; k < len / 2; ++k, wn *= w) {
        cd u = a[(i + k) * stride], v = a[(i + k + len / 2) * stride] * wn;
        a[(i + k) * stride] = u + v;
        a[(i + k + len / 2) * stride] = u - v;
      }
    }
  }
}

int signed_bin(int i, int n) { return i < n / 2 ? i : i - n; }

}  // namespace

void fft3(std::vector<cd>& a, int T, int H, int W) {
  for (int n : {T, H, W})
    if (n & (n - 1)) throw std::invalid_argument("fft3: sizes must be powers of two");
  for (int t = 0; t < T; ++t)
    for (int y = 0; y < H; ++y) fft1(&a[(size_t(t) * H + y) * W], W, 1);
  for (int t = 0; t < T; ++t)
    for (int x = 0; x < W; ++x) fft1(&a[size_t(t) * H * W + x], H, W);
  for (int i = 0; i < H * W; ++i) fft1(&a[size_t(i)], T, int64_t(H) * W);
}

SpectralPeak spectral_peak(const std::vector<float>& lum, int T, int H, int W) {
  std::vector<cd> a(lum.begin(), lum.end());
  fft3(a, T, H, W);
  double best = -1;
  SpectralPeak p{};
  for (int t = 0; t < T; ++t) {
    int w = signed_bin(t, T);
    if (w >= 0) continue;  // the ω < 0 half holds each moving component once, along +k
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        double m = std::norm(a[(size_t(t) * H + y) * W + x]);
        if (m > best) {
          best = m;
          double kx = double(signed_bin(x, W)) / W, ky = -double(signed_bin(y, H)) / H;  // y up
          double dir = std::atan2(ky, kx) * 180 / M_PI;
          p = {dir < 0 ? dir + 360 : dir, std::hypot(kx, ky), -double(w) / T};
        }
      }
  }
  return p;
}

std::vector<double> motion_energy_by_direction(const std::vector<float>& lum, int T, int H, int W, int bins) {
  std::vector<cd> a(lum.size());
  auto hann = [](int i, int n) { return 0.5 - 0.5 * std::cos(2 * M_PI * (i + 0.5) / n); };
  double mean = 0;
  for (float v : lum) mean += v;
  mean /= double(lum.size());
  for (int t = 0; t < T; ++t)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        size_t i = (size_t(t) * H + y) * W + x;
        a[i] = (lum[i] - mean) * hann(t, T) * hann(y, H) * hann(x, W);
      }
  fft3(a, T, H, W);
  std::vector<double> e(size_t(bins), 0.0);
  for (int t = 0; t < T; ++t) {
    int w = signed_bin(t, T);
    if (w == 0) continue;
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        double kx = signed_bin(x, W), ky = -signed_bin(y, H);
        if (kx == 0 && ky == 0) continue;
        if (w > 0) kx = -kx, ky = -ky;
        double dir = std::atan2(ky, kx) * 180 / M_PI + 180.0 / bins;
        dir = std::fmod(dir + 720, 360);
        e[size_t(int(dir / (360.0 / bins)) % bins)] += std::norm(a[(size_t(t) * H + y) * W + x]);
      }
  }
  return e;
}

}  // namespace mtmap::test
