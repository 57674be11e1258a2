#pragma once
// Layout changes of the channels-last convolution kernels: one sample of NCDHW activations to a
// zero-padded (D', H', W', C') copy, and blocked transposes between (C, positions) planes and
// (positions, C) rows.
#include <cstdint>

#include "kernels/common/conv3d_problem.h"

namespace mtmap::cpu {

struct PaddedChannelsLast {
  int64_t Dp, Hp, Wp;  // padded input extents
  int64_t Cp;          // channels per position (≥ C; the extra ones stay zero)
  int64_t sample() const { return Dp * Hp * Wp * Cp; }
};

// One sample x (C, D, H, W) of p → out (Dp, Hp, Wp, Cp), the interior at p's padding offsets.
// Only the interior is written: the caller zeroes `out` once, and the padding and extra channels
// stay zero for every sample written into it afterwards.
void pad_to_channels_last(const Conv3dProblem& p, const PaddedChannelsLast& l, const float* x, float* out);

// (channels, positions) → (positions, channels), and back.
void planes_to_rows(int64_t channels, int64_t positions, const float* src, float* dst);
void rows_to_planes(int64_t channels, int64_t positions, const float* src, float* dst);

}  // namespace mtmap::cpu
