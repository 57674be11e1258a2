// The clip augmentations of a device batch (augment.h), in the passes the CPU makes over a clip:
//  1. the crop: bilinear resampling of each frame through the host's taps, scaled to [0, 1];
//  2. the colour operations in each clip's own order, fused per pixel between the points where
//     some clip's contrast needs its reference grey (the clip's mean luma after the operations
//     before it): there a reduction runs, deterministic (fixed blocks, partial sums in double
//     added in order), then the next segment;
//  3. grayscale, with the last colour segment;
//  4. the Gaussian blur's row pass into scratch, then its column pass fused with normalisation.
// Each pass is a grid over (pixels, clip); a clip that does not take a pass returns at once.
#include "kernels/cuda/augment.h"

#include <vector>

#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda {
namespace {

using augment::ClipPlan;
using detail::blocks_for;
using detail::kThreads;

constexpr int kMeanBlocks = 16;  // blocks per clip in the reference-grey reduction

struct Layout {
  int64_t pixels;  // frames · size · size: one channel of one clip
  int size, key_from;
  float *query, *key;
  __device__ float* clip(int c) const {
    return c < key_from ? query + int64_t(c) * 3 * pixels : key + int64_t(c - key_from) * 3 * pixels;
  }
};

__global__ void crop_kernel(AugmentBatch b, Layout L) {
  const int c = int(blockIdx.z), ch = int(blockIdx.y);
  const ClipPlan& p = b.plans[c];
  const int S = b.size;
  const int64_t hw = int64_t(b.height) * b.width;
  const int64_t dx = b.width > 1 ? 1 : 0, dy = b.height > 1 ? b.width : 0;
  float* out = L.clip(c) + ch * L.pixels;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < L.pixels; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = i / (int64_t(S) * S);
    const int y = int(i / S % S), x = int(i % S);
    const uint8_t* frame = b.videos + ((int64_t(p.video) * 3 + ch) * b.video_frames + p.start + t * p.stride) * hw;
    const uint8_t* q = frame + int64_t(b.tap_y[c * S + y]) * b.width + b.tap_x[c * S + x];
    out[i] = augment::bilinear(q, dx, dy, b.fx[c * S + x], b.fy[c * S + y]);
  }
}

// Colour positions [first, last) of every clip's order; grayscale too when `grey`.
__global__ void colour_kernel(AugmentBatch b, Layout L, int first, int last, int grey, const float* means) {
  const int c = int(blockIdx.z);
  const ClipPlan& p = b.plans[c];
  bool any = grey && p.grayscale;
  for (int k = first; k < last; ++k) any = any || p.active[k];
  if (!any) return;
  float* r = L.clip(c);
  float* g = r + L.pixels;
  float* bl = g + L.pixels;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < L.pixels; i += int64_t(gridDim.x) * blockDim.x) {
    float R = r[i], G = g[i], B = bl[i];
    for (int k = first; k < last; ++k) {
      if (!p.active[k]) continue;
      switch (p.order[k]) {
        case augment::kBrightness: augment::brightness(R, G, B, p.brightness); break;
        case augment::kContrast: augment::contrast(R, G, B, p.contrast, means[c]); break;
        case augment::kSaturation: augment::saturation(R, G, B, p.saturation); break;
        default: augment::hue(R, G, B, p.hue); break;
      }
    }
    if (grey && p.grayscale) R = G = B = augment::luma(R, G, B);
    r[i] = R, g[i] = G, bl[i] = B;
  }
}

__device__ bool contrast_at(const ClipPlan& p, int k) { return p.active[k] && p.order[k] == augment::kContrast; }

// Partial sums of a clip's luma over kMeanBlocks fixed ranges, each reduced in a fixed tree.
__global__ void mean_partial_kernel(AugmentBatch b, Layout L, int k, double* partial) {
  const int c = int(blockIdx.y), blk = int(blockIdx.x);
  if (!contrast_at(b.plans[c], k)) return;
  const float* r = L.clip(c);
  const float* g = r + L.pixels;
  const float* bl = g + L.pixels;
  const int64_t begin = L.pixels * blk / kMeanBlocks, end = L.pixels * (blk + 1) / kMeanBlocks;
  double s = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) s += double(augment::luma(r[i], g[i], bl[i]));
  __shared__ double part[kThreads];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (int(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[c * kMeanBlocks + blk] = part[0];
}

__global__ void mean_final_kernel(AugmentBatch b, Layout L, int k, const double* partial, float* means) {
  const int c = int(blockIdx.x) * blockDim.x + int(threadIdx.x);
  if (c >= b.clips || !contrast_at(b.plans[c], k)) return;
  double s = 0;
  for (int i = 0; i < kMeanBlocks; ++i) s += partial[c * kMeanBlocks + i];
  means[c] = float(s / double(L.pixels));
}

// The blur's row pass: every row of every frame and channel into scratch.
__global__ void blur_rows_kernel(AugmentBatch b, Layout L, float* rows) {
  const int c = int(blockIdx.z);
  const ClipPlan& p = b.plans[c];
  const int r = p.blur_radius, S = L.size;
  if (r == 0) return;
  const float* in = L.clip(c);
  float* out = rows + int64_t(c) * 3 * L.pixels;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < 3 * L.pixels; i += int64_t(gridDim.x) * blockDim.x) {
    const int x = int(i % S);
    const float* row = in + (i - x);
    float acc = 0.f;
    for (int j = 0; j <= 2 * r; ++j) acc = augment::fadd(acc, augment::fmul(p.blur[j], row[augment::reflect(x + j - r, S)]));
    out[i] = acc;
  }
}

// The blur's column pass (clips with a blur), then normalisation (every clip).
__global__ void blur_columns_normalise_kernel(AugmentBatch b, Layout L, const float* rows) {
  const int c = int(blockIdx.z);
  const ClipPlan& p = b.plans[c];
  const int r = p.blur_radius, S = L.size;
  float* out = L.clip(c);
  const float* in = rows + int64_t(c) * 3 * L.pixels;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < 3 * L.pixels; i += int64_t(gridDim.x) * blockDim.x) {
    const int ch = int(i / L.pixels);
    float v = out[i];
    if (r > 0) {
      const int64_t plane = i - i % (int64_t(S) * S);  // this frame's first pixel
      const int y = int(i / S % S), x = int(i % S);
      float acc = 0.f;
      for (int j = 0; j <= 2 * r; ++j)
        acc = augment::fadd(acc, augment::fmul(p.blur[j], in[plane + int64_t(augment::reflect(y + j - r, S)) * S + x]));
      v = acc;
    }
    out[i] = augment::normalise(v, p.mean[ch], p.inv_std[ch]);
  }
}

}  // namespace

int64_t augment_scratch_floats(int clips, int frames, int size) {
  // The blur's rows, then the reference greys (one float each) and the partial sums (doubles).
  return int64_t(clips) * 3 * frames * size * size + clips + 2 * int64_t(clips) * kMeanBlocks + 2;
}

void augment_clips(const AugmentBatch& b, cudaStream_t stream) {
  if (b.clips <= 0) return;
  if (b.clips > 65535)
    throw std::invalid_argument("cuda launcher augment_clips: " + std::to_string(b.clips) +
                                " clips, more than a grid's 65535 layers");
  const Layout L{int64_t(b.frames) * b.size * b.size, b.size, b.key_from, b.query, b.key};
  float* rows = b.scratch;
  float* means = rows + int64_t(b.clips) * 3 * L.pixels;
  // Doubles start 8-byte aligned: the scratch's float count before them is rounded up to even.
  int64_t at = int64_t(b.clips) * 3 * L.pixels + b.clips;
  at += at & 1;
  double* partial = reinterpret_cast<double*>(b.scratch + at);

  launch_kernel(crop_kernel, dim3(blocks_for(L.pixels), 3, unsigned(b.clips)), dim3(kThreads), 0, stream, b, L);
  detail::check_launch("augment_clips (crop)");
  // The colour segments: a break before every position where some clip's contrast needs its grey.
  auto needs_grey = [&](int k) {
    for (int c = 0; c < b.clips; ++c) {
      const ClipPlan& p = b.host_plans[c];
      if (p.active[k] && p.order[k] == augment::kContrast) return true;
    }
    return false;
  };
  int first = 0;
  for (int k = 0; k <= 4; ++k) {
    const bool end = k == 4;
    if (!end && !needs_grey(k)) continue;
    if (k > first || end) {
      launch_kernel(colour_kernel, dim3(blocks_for(L.pixels), 1, unsigned(b.clips)), dim3(kThreads), 0, stream, b, L,
                    first, k, end ? 1 : 0, static_cast<const float*>(means));
      detail::check_launch("augment_clips (colour)");
    }
    if (end) break;
    launch_kernel(mean_partial_kernel, dim3(kMeanBlocks, unsigned(b.clips)), dim3(kThreads), 0, stream, b, L, k,
                  partial);
    detail::check_launch("augment_clips (grey partial sums)");
    launch_kernel(mean_final_kernel, dim3(blocks_for(b.clips)), dim3(kThreads), 0, stream, b, L, k,
                  static_cast<const double*>(partial), means);
    detail::check_launch("augment_clips (grey)");
    first = k;
  }
  bool blur = false;
  for (int c = 0; c < b.clips; ++c) blur = blur || b.host_plans[c].blur_radius > 0;
  if (blur) {
    launch_kernel(blur_rows_kernel, dim3(blocks_for(3 * L.pixels), 1, unsigned(b.clips)), dim3(kThreads), 0, stream, b,
                  L, rows);
    detail::check_launch("augment_clips (blur rows)");
  }
  launch_kernel(blur_columns_normalise_kernel, dim3(blocks_for(3 * L.pixels), 1, unsigned(b.clips)), dim3(kThreads), 0,
                stream, b, L, static_cast<const float*>(rows));
  detail::check_launch("augment_clips (blur columns, normalise)");
}

}  // namespace mtmap::cuda
