#pragma once
// Direct 3D convolution for undilated problems in float32 with AVX-512 or AVX2 (cpu_features.h
// picks): each thread owns rows of 16 output columns for 8 or 16 output channels at once under
// AVX-512 (one vector register per channel; 4 channels × two 8-column vectors under AVX2), loops
// over C·T·R·S taps with one input vector load and one broadcast FMA per channel, and never
// materialises a column matrix. The input is zero-padded once per call, so the inner loop has no
// bounds checks; a stride along W is read from polyphase rows (conv3d_direct.cpp), so strided
// convolutions (the stem, every stage's first conv) load whole vectors too. Each output element
// is summed in a fixed tap order by one thread: deterministic for any thread count.
//
// wgrad has its own channels-last kernel (conv3d_wgrad_direct.cpp).
// dgrad of a stride-1 convolution is itself such a convolution (of dy with the weights flipped
// in space and transposed in channels, padding kernel − 1 − pad), so the same kernel serves both.
#include "kernels/common/conv3d_problem.h"

namespace mtmap::cpu {

// Dilation 1 (any stride), output channels a multiple of 8, and an AVX2 or AVX-512 CPU.
bool conv3d_direct_supported(const Conv3dProblem& p);
// x (N, C, D, H, W), w (K, C, T, R, S) → y (N, K, Z, P, Q), all float32 contiguous.
void conv3d_fprop_direct(const Conv3dProblem& p, const float* x, const float* w, float* y);
// dy (N, K, Z, P, Q), w (K, C, T, R, S) → dx (N, C, D, H, W). Stride 1 only, and
// conv3d_direct_supported for the flipped problem (input channels C a multiple of 8).
bool conv3d_dgrad_direct_supported(const Conv3dProblem& p);
void conv3d_dgrad_direct(const Conv3dProblem& p, const float* dy, const float* w, float* dx);
// The forward pass vectorised over output channels, channels-last inside: dilation 1, any
// stride, output channels in whole vectors (16 under AVX-512, 8 under AVX2). For short rows, which conv_row's
// 16-column vectors waste (conv3d_fprop_channels_last.cpp).
bool conv3d_fprop_channels_last_supported(const Conv3dProblem& p);
void conv3d_fprop_channels_last(const Conv3dProblem& p, const float* x, const float* w, float* y);
// dgrad vectorised over input channels, one stride-1 sub-problem per stride phase
// (conv3d_dgrad_channels_last.cpp): dilation 1, any stride and padding, input channels a multiple
// in whole vectors (16 under AVX-512, 8 under AVX2).
bool conv3d_dgrad_channels_last_supported(const Conv3dProblem& p);
void conv3d_dgrad_channels_last(const Conv3dProblem& p, const float* dy, const float* w, float* dx);
// x (N, C, D, H, W), dy (N, K, Z, P, Q) → dw (K, C, T, R, S), channels-last inside (see
// conv3d_wgrad_direct.cpp): any stride, padding and dilation; an AVX2 or AVX-512 CPU; input
// channels that fill vectors (8 or 16 lanes) to at least 80 %, or, unfolded along W, channels ×
// filter width to 60 %
// (the 3-channel stems).
bool conv3d_wgrad_direct_supported(const Conv3dProblem& p);
void conv3d_wgrad_direct(const Conv3dProblem& p, const float* x, const float* dy, float* dw);

}  // namespace mtmap::cpu
