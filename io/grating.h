#pragma once
// Drifting sinusoidal gratings, the analysis's stimuli (docs/measurements.md §1):
//   I(x, y, t) = 0.5 + 0.5·c·sin(2π(f_s·(x cos θ + y sin θ) − f_t·t) + φ)
// x = column, y = rows counted upward from the bottom row (so θ = 0° is rightward motion and θ
// grows counter-clockwise on screen), t = frame; f_s in cycles/pixel, f_t in cycles/frame. The
// same value goes to all three channels; the model's input normalisation is applied later.
#include "engine/tensor/tensor.h"

namespace mtmap::io {

struct GratingParams {
  double direction_deg = 0;
  double spatial_freq = 1.0 / 16;  // cycles/pixel
  double temporal_freq = 1.0 / 8;  // cycles/frame, < 0.5 (0.5 is ambiguous, above it aliases)
  double phase = 0;                // radians
  double contrast = 1;
};

// f32 (3, T, H, W) in [0, 1].
Tensor drifting_grating(const GratingParams& p, int64_t frames, int height, int width);

}  // namespace mtmap::io
