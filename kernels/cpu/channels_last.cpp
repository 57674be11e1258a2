#include "kernels/cpu/channels_last.h"

#include <algorithm>

namespace mtmap::cpu {

void pad_to_channels_last(const Conv3dProblem& p, const PaddedChannelsLast& l, const float* x, float* out,
                          int64_t samples) {
  const int64_t in_sample = p.C * p.D * p.H * p.W;
#pragma omp parallel for collapse(3) schedule(static)
  for (int64_t n = 0; n < samples; ++n)
    for (int64_t d = 0; d < p.D; ++d)
      for (int64_t c = 0; c < p.C; ++c)
        for (int64_t h = 0; h < p.H; ++h) {
          const float* src = x + n * in_sample + ((c * p.D + d) * p.H + h) * p.W;
          float* dst = out + n * l.sample() + (((d + p.pad_d) * l.Hp + h + p.pad_h) * l.Wp + p.pad_w) * l.Cp + c;
          for (int64_t w = 0; w < p.W; ++w) dst[w * l.Cp] = src[w];
        }
}

// Blocks of 64 positions: a block's rows (64 × channels) stay in L1 while each plane is read or
// written in runs of 64.
constexpr int64_t kBlock = 64;

void planes_to_rows(int64_t channels, int64_t positions, const float* src, float* dst, int64_t samples) {
  const int64_t blocks = (positions + kBlock - 1) / kBlock, sample = channels * positions;
#pragma omp parallel for schedule(static)
  for (int64_t job = 0; job < samples * blocks; ++job) {
    const int64_t n = job / blocks, i0 = (job % blocks) * kBlock, i1 = std::min(positions, i0 + kBlock);
    const float* s = src + n * sample;
    float* d = dst + n * sample;
    for (int64_t c = 0; c < channels; ++c) {
      const float* plane = s + c * positions;
      for (int64_t i = i0; i < i1; ++i) d[i * channels + c] = plane[i];
    }
  }
}

void rows_to_planes(int64_t channels, int64_t positions, const float* src, float* dst, int64_t samples) {
  const int64_t blocks = (positions + kBlock - 1) / kBlock, sample = channels * positions;
#pragma omp parallel for schedule(static)
  for (int64_t job = 0; job < samples * blocks; ++job) {
    const int64_t n = job / blocks, i0 = (job % blocks) * kBlock, i1 = std::min(positions, i0 + kBlock);
    const float* s = src + n * sample;
    float* d = dst + n * sample;
    for (int64_t c = 0; c < channels; ++c) {
      float* plane = d + c * positions;
      for (int64_t i = i0; i < i1; ++i) plane[i] = s[i * channels + c];
    }
  }
}

}  // namespace mtmap::cpu
