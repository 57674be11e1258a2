#pragma once
// Clip augmentations on a CUDA device: crops, colour jitter, grayscale, blur and normalisation of
// many clips at once, cut from videos already in device memory, as io/augment.cpp does them on the
// CPU (the per-pixel arithmetic is kernels/common/augment.h, shared). Used by the device batch
// path (io/device_batches.h) to make training batches without the video leaving the GPU.
#include "kernels/cuda/dialect.h"

#include <cstdint>

#include "kernels/common/augment.h"

namespace mtmap::cuda {

struct AugmentBatch {
  const uint8_t* videos = nullptr;  // (V, 3, video_frames, height, width) u8
  int64_t video_frames = 0;
  int height = 0, width = 0;
  int clips = 0;                           // clips to make
  int frames = 0, size = 0;                // each (3, frames, size, size) f32
  const augment::ClipPlan* plans = nullptr;        // device: one per clip
  const augment::ClipPlan* host_plans = nullptr;   // the same on the host: which passes to launch
  const int32_t* tap_x = nullptr;  // device: (clips, size) each, io::crop_taps
  const int32_t* tap_y = nullptr;
  const float* fx = nullptr;
  const float* fy = nullptr;
  // Clip c < key_from is sample c of `query`, the others sample c − key_from of `key`.
  float* query = nullptr;
  float* key = nullptr;
  int key_from = 0;
  // Device scratch: augment_scratch_floats(…) floats (the blur's row pass, the reference greys).
  float* scratch = nullptr;
};

int64_t augment_scratch_floats(int clips, int frames, int size);
void augment_clips(const AugmentBatch& batch, cudaStream_t stream);

}  // namespace mtmap::cuda
