#include "io/grating.h"

#include <cmath>

namespace mtmap::io {

Tensor drifting_grating(const GratingParams& p, int64_t T, int H, int W) {
  MTMAP_CHECK(p.temporal_freq >= 0 && p.temporal_freq < 0.5,
              "drifting grating: temporal frequency {} cycles/frame must be in [0, 0.5) or the direction aliases",
              p.temporal_freq);
  MTMAP_CHECK(p.spatial_freq >= 0 && p.spatial_freq <= 0.5,
              "drifting grating: spatial frequency {} cycles/px above Nyquist", p.spatial_freq);
  MTMAP_CHECK(T > 0 && H > 0 && W > 0, "drifting grating: empty clip {}x{}x{}", T, H, W);
  Tensor out = empty({3, T, H, W}, DType::f32);
  float* o = out.data<float>();
  const double th = p.direction_deg * M_PI / 180, kx = p.spatial_freq * std::cos(th),
               ky = p.spatial_freq * std::sin(th);
  const int64_t plane = T * H * W;
  for (int64_t t = 0; t < T; ++t)
    for (int row = 0; row < H; ++row) {
      const double y = H - 1 - row;
      for (int x = 0; x < W; ++x) {
        float v = float(0.5 + 0.5 * p.contrast *
                                  std::sin(2 * M_PI * (kx * x + ky * y - p.temporal_freq * double(t)) + p.phase));
        int64_t i = (t * H + row) * W + x;
        o[i] = o[plane + i] = o[2 * plane + i] = v;
      }
    }
  return out;
}

}  // namespace mtmap::io
