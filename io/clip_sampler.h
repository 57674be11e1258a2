#pragma once
// Where the two clips of a contrastive pair start in a video (G + 1 possible starts).
//  - independent (default, MoCo): two independent uniform starts.
//  - uniform_gap: the gap t between the starts is uniform on 0..G, then the pair is placed
//    uniformly (CVRL's "uniform" baseline).
//  - decreasing: CVRL (Qian et al. 2021) samples t from a decreasing density, here
//    P(t) ∝ (1 − t/(G+1))^power, then places the pair uniformly. power = 1 is CVRL's linear law
//    −t + c; note that it is the same distribution as two independent starts (|U1 − U2| is
//    triangular), so power > 1 is what favours nearby clips more strongly.
#include <cstdint>

#include "io/rng.h"

namespace mtmap::io {

struct ClipSpec {
  int64_t frames = 16;  // T
  int64_t stride = 1;   // frames between consecutive clip frames
  int64_t span() const { return (frames - 1) * stride + 1; }
};

enum class OffsetMode { independent, uniform_gap, decreasing };

struct ClipPair {
  int64_t start_q = 0, start_k = 0;
};

// Requires video_frames >= spec.span() (the data set's min_frames guarantees it).
ClipPair sample_clip_pair(int64_t video_frames, const ClipSpec& spec, OffsetMode mode, Rng& rng, double power = 1.0);

}  // namespace mtmap::io
