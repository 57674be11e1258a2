#pragma once
// Clip augmentations for contrastive learning (MoCo v2 / CVRL), drawn once per clip and applied
// with the same parameters to every frame: random resized crop, horizontal flip, colour jitter
// (brightness, contrast, saturation, hue in a random order), grayscale, Gaussian blur; then
// normalisation. Input uint8 (3, T, H, W); output f32 (3, T, S, S).
#include <array>
#include <cstdint>
#include <vector>

#include "engine/tensor/tensor.h"
#include "kernels/common/augment.h"
#include "io/rng.h"

namespace mtmap::io {

struct AugmentConfig {
  int size = 112;                         // output S x S
  bool random = true;                     // false: centre crop of the whole frame, nothing else
  double area_min = 0.2, area_max = 1.0;  // crop area, fraction of the frame
  double aspect_min = 3.0 / 4, aspect_max = 4.0 / 3;
  double flip_p = 0.5;
  double jitter_p = 0.8;
  double brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.1;
  double grayscale_p = 0.2;
  double blur_p = 0.5;
  double blur_sigma_min = 0.1, blur_sigma_max = 2.0;     // in output pixels
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};  // ImageNet/Kinetics convention
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
};

// One clip's augmentation: every frame gets exactly these.
struct AugmentParams {
  double crop_x = 0, crop_y = 0, crop_w = 0, crop_h = 0;  // in source pixels
  bool flip = false;
  bool jitter = false;
  double brightness = 1, contrast = 1, saturation = 1, hue = 0;  // factors; hue in turns
  std::array<int, 4> order = {0, 1, 2, 3};                       // brightness, contrast, saturation, hue
  bool grayscale = false;
  double blur_sigma = 0;  // 0: no blur
};

AugmentParams sample_augment(const AugmentConfig& config, int height, int width, Rng& rng);

// Applies `p` to every frame of `clip` (uint8, (3, T, H, W)) and writes f32 (3, T, S, S) to `out`.
void apply_augment(const Tensor& clip, const AugmentParams& p, const AugmentConfig& config, float* out);
Tensor augment_clip(const Tensor& clip, const AugmentParams& p, const AugmentConfig& config);

// What apply_augment derives from the parameters before it reads a pixel, exposed for the CUDA
// batch path (io/device_batches.h), which applies the same plan with the same arithmetic
// (kernels/common/augment.h).
struct CropTaps {  // output column i reads source columns x[i], x[i] + 1 with weight fx[i]; rows alike
  std::vector<int> x, y;
  std::vector<float> fx, fy;
};
CropTaps crop_taps(const AugmentParams& p, int size, int64_t height, int64_t width);
void hue_matrix(double turns, float m[9]);         // the hue rotation as an RGB matrix
std::vector<float> blur_weights(double sigma);     // the normalised 2r + 1 Gaussian taps, r = ⌈3σ⌉ ≥ 1
bool colour_op_active(const AugmentParams& p, int op);  // false: a factor of 1, the identity, skipped
float mean_grey(const float* r, const float* g, const float* b, int64_t n);  // contrast's reference grey
// The parameters as the device applies them (kernels/common/augment.h); video, start and stride
// are left 0 for the caller.
augment::ClipPlan clip_plan(const AugmentParams& p, const AugmentConfig& config);

}  // namespace mtmap::io
