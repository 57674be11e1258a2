#pragma once
// A ResNet3d whose probed units are direction selective by construction, to check that the probe
// and the analysis recover a known preferred direction through the real network:
//   - stem channel c is a space-time oriented Gabor tuned to direction θ_c, wavelength λ and
//     temporal period P (a linear filter whose 3 frames shift the carrier by 2π/P each, so a
//     grating moving the other way sees the taps cancel: at P = 6 the null direction's temporal
//     sum 1 + 2cos(2·2π/6) is 0; at the clip's first frame, whose previous frame is padding, two
//     taps are left and the null response is half the preferred one);
//   - every residual branch is switched off (the second BN's weight and bias 0), so a block with an
//     identity shortcut passes its input through relu(0 + x) = x;
//   - every downsample shortcut (1×1×1 conv, stride 2) copies channel c to channel c.
// BN keeps its initial running statistics (mean 0, variance 1): eval mode is the identity up to
// 1/√(1 + ε). Layer3.1's channel c < width then holds stem channel c, subsampled; the others are 0.
#include <cmath>
#include <string>
#include <vector>

#include "models/resnet3d.h"

namespace mtmap::test {

inline void plant_direction_filters(models::ResNet3d& net, const std::vector<double>& directions_deg,
                                    double wavelength_px, double period_frames) {
  for (const nn::NamedTensor& p : net.named_parameters()) {
    Tensor w = p.tensor.detach();
    float* v = w.data<float>();
    const int64_t n = w.numel();
    if (p.name.ends_with("conv2.1.weight") || p.name.ends_with("conv2.1.bias")) {
      std::fill(v, v + n, 0.0f);
    } else if (p.name.ends_with("downsample.0.weight")) {  // (out, in, 1, 1, 1)
      std::fill(v, v + n, 0.0f);
      for (int64_t c = 0; c < std::min(w.size(0), w.size(1)); ++c) v[c * w.size(1) + c] = 1.0f;
    } else if (p.name == "stem.0.weight") {  // (out, 3, 3, 7, 7)
      REQUIRE(w.size(2) == 3);
      REQUIRE(size_t(w.size(0)) >= directions_deg.size());
      std::fill(v, v + n, 0.0f);
      const int64_t kt = w.size(2), kh = w.size(3), kw = w.size(4), in = w.size(1);
      const double sigma = 2.0;
      for (size_t c = 0; c < directions_deg.size(); ++c) {
        const double th = directions_deg[c] * M_PI / 180;
        for (int64_t t = 0; t < kt; ++t) {
          // The kernel's frame t multiplies input frame t0 + t − 1; its row index grows downward
          // while the gratings' y grows upward (io/grating.h), hence y = (kh/2) − row.
          std::vector<double> f(size_t(kh * kw));
          double mean = 0;
          for (int64_t r = 0; r < kh; ++r)
            for (int64_t col = 0; col < kw; ++col) {
              const double x = double(col - kw / 2), y = double(kh / 2 - r), tt = double(t - 1);
              const double g = std::exp(-(x * x + y * y) / (2 * sigma * sigma));
              f[size_t(r * kw + col)] =
                  g * std::cos(2 * M_PI * ((x * std::cos(th) + y * std::sin(th)) / wavelength_px - tt / period_frames));
              mean += f[size_t(r * kw + col)] / double(kh * kw);
            }
          // Zero mean per frame: a uniform input (the grey clip, the normalisation's offset) gives 0.
          for (int64_t i = 0; i < kh * kw; ++i)
            for (int64_t ch = 0; ch < in; ++ch)
              v[((int64_t(c) * in + ch) * kt + t) * kh * kw + i] = float((f[size_t(i)] - mean) / 3.0);
        }
      }
    }
  }
}

}  // namespace mtmap::test
