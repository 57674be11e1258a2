#include "io/clip_sampler.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace mtmap::io {

ClipPair sample_clip_pair(int64_t video_frames, const ClipSpec& spec, OffsetMode mode, Rng& rng, double power) {
  MTMAP_CHECK(spec.frames > 0 && spec.stride > 0, "clip spec: {} frames at stride {} is invalid", spec.frames,
              spec.stride);
  const int64_t last = video_frames - spec.span();  // the latest possible start
  MTMAP_CHECK(last >= 0, "a video of {} frames is shorter than one clip ({} frames at stride {} span {})", video_frames,
              spec.frames, spec.stride, spec.span());
  ClipPair p;
  if (mode == OffsetMode::independent) {
    p.start_q = rng.integer(last + 1);
    p.start_k = rng.integer(last + 1);
    return p;
  }
  MTMAP_CHECK(power > 0, "clip sampler: the decreasing offset law needs power > 0, got {}", power);
  // Inverse CDF of the density ∝ (1 − x)^power on [0, 1), scaled to the G + 1 gaps.
  const double u = rng.uniform();
  const double x = mode == OffsetMode::uniform_gap ? u : 1.0 - std::pow(1.0 - u, 1.0 / (power + 1.0));
  int64_t gap = std::min<int64_t>(int64_t(x * double(last + 1)), last);
  int64_t first = rng.integer(last - gap + 1);
  bool swap = rng.bernoulli(0.5);
  p.start_q = swap ? first + gap : first;
  p.start_k = swap ? first : first + gap;
  return p;
}

}  // namespace mtmap::io
