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

// `samples` consecutive samples x (C, D, H, W) of p → out (Dp, Hp, Wp, Cp) each, the interior at
// p's padding offsets. Only the interior is written: the caller zeroes `out` once, and the
// padding and extra channels stay zero for every sample written into it afterwards.
//
// Each function is one parallel region for all its samples: training runs OpenMP with passive
// waiting, where every region start wakes the sleeping threads (tens of microseconds on a VM),
// and a region per sample was half of a training step's 8,000 regions.
void pad_to_channels_last(const Conv3dProblem& p, const PaddedChannelsLast& l, const float* x, float* out,
                          int64_t samples = 1);

// (channels, positions) → (positions, channels), and back, for `samples` consecutive samples.
void planes_to_rows(int64_t channels, int64_t positions, const float* src, float* dst, int64_t samples = 1);
void rows_to_planes(int64_t channels, int64_t positions, const float* src, float* dst, int64_t samples = 1);

}  // namespace mtmap::cpu
