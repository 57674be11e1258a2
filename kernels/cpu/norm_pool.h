#pragma once
// Batch norm and 3D pooling on the CPU. Activations are viewed as (N, C, S) for batch norm
// (S = every axis after C) and (N·C, D, H, W) for pooling.
#include <cstdint>

#include "kernels/common/dtype.h"

namespace mtmap::cpu {

struct BatchNormShape {
  int64_t N = 0, C = 0, S = 0;
};

// Per channel: mean and biased variance over N and S (accumulated in double).
void bn_stats(DType t, const BatchNormShape& s, const void* x, double* mean, double* var);
// y = gamma[c] * (x - mean[c]) * invstd[c] + beta[c], then max(y, 0) when relu.
void bn_apply(DType t, const BatchNormShape& s, const void* x, const double* mean, const double* invstd,
              const void* gamma, const void* beta, bool relu, void* y);
// Backward. dy is already masked by the caller for a fused ReLU. training: batch statistics
// (mean/invstd are the batch's and the gradient flows through them); otherwise running statistics.
// dx, dgamma, dbeta may each be null when not wanted.
void bn_backward(DType t, const BatchNormShape& s, bool training, const void* x, const void* dy,
                 const double* mean, const double* invstd, const void* gamma, void* dx, void* dgamma, void* dbeta);

struct Pool3dShape {
  int64_t planes = 0;        // N·C
  int64_t D = 0, H = 0, W = 0;
  int64_t Z = 0, P = 0, Q = 0;  // output
  int64_t kd = 1, kh = 1, kw = 1, sd = 1, sh = 1, sw = 1, pd = 0, ph = 0, pw = 0;
};

// Max pooling; `argmax` receives, per output, the flat (d·H + h)·W + w index of the winner in its
// plane (the first one on ties). Padding never wins.
void max_pool3d(DType t, const Pool3dShape& s, const void* x, void* y, int64_t* argmax);
// dx = 0, then dx[argmax[o]] += dy[o], outputs in order (deterministic).
void max_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, const int64_t* argmax, void* dx);

// Adaptive average pooling: output cell i covers input [floor(i·In/Out), ceil((i+1)·In/Out)).
void adaptive_avg_pool3d(DType t, const Pool3dShape& s, const void* x, void* y);
void adaptive_avg_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, void* dx);

}  // namespace mtmap::cpu
