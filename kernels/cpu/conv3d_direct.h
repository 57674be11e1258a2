#pragma once
// Direct 3D convolution for stride-1, undilated problems in float32 with AVX-512: each thread
// owns rows of 16 output columns for 8 or 16 output channels at once (one vector register per
// channel), loops over C·T·R·S taps with one input vector load and one broadcast FMA per channel,
// and never materialises a column matrix. The input is zero-padded once per call, so the inner
// loop has no bounds checks. Each output element is summed in a fixed tap order by one thread:
// deterministic for any thread count.
//
// wgrad stays vol2col + GEMM (see below).
// dgrad of a stride-1 convolution is itself such a convolution (of dy with the weights flipped
// in space and transposed in channels, padding kernel − 1 − pad), so the same kernel serves both.
#include "kernels/common/conv3d_problem.h"

namespace mtmap::cpu {

// Stride 1, dilation 1, output channels a multiple of 8, and an AVX-512 CPU.
bool conv3d_direct_supported(const Conv3dProblem& p);
// x (N, C, D, H, W), w (K, C, T, R, S) → y (N, K, Z, P, Q), all float32 contiguous.
void conv3d_fprop_direct(const Conv3dProblem& p, const float* x, const float* w, float* y);
// dy (N, K, Z, P, Q), w (K, C, T, R, S) → dx (N, C, D, H, W). Requires conv3d_direct_supported
// for the flipped problem (input channels C a multiple of 8).
bool conv3d_dgrad_direct_supported(const Conv3dProblem& p);
void conv3d_dgrad_direct(const Conv3dProblem& p, const float* dy, const float* w, float* dx);
// No direct wgrad: a vectorised direct wgrad (one accumulator per output channel, per tap) was
// tried and ran 2–3× slower than vol2col + GEMM here, which re-uses dy and x through packing.

}  // namespace mtmap::cpu
