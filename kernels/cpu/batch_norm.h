#pragma once
// Batch norm on the CPU over an (N, C, S) view (S = every axis after C). Statistics and gradient
// sums accumulate in double in a fixed order: deterministic for any thread count.
#include <cstdint>

#include "kernels/common/batch_norm.h"
#include "kernels/common/dtype.h"

namespace mtmap::cpu {

using mtmap::BatchNormShape;

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

// The statistics as the CUDA kernels give them: mean and invstd = 1/sqrt(biased var + eps) (C
// doubles each); training also updates the running statistics (dtype t) in place with the
// unbiased variance: running = (1 − momentum)·running + momentum·batch (PyTorch's rule).
void bn_train_stats(DType t, const BatchNormShape& s, const void* x, double eps, double momentum, void* running_mean,
                    void* running_var, double* mean, double* invstd);
void bn_eval_stats(DType t, int64_t C, double eps, const void* running_mean, const void* running_var, double* mean,
                   double* invstd);
// Backward with the fused ReLU's mask: y_relu is the forward output (the gradient passes where
// y > 0), or null without a fused ReLU.
void bn_backward(DType t, const BatchNormShape& s, bool training, const void* x, const void* y_relu, const void* dy,
                 const double* mean, const double* invstd, const void* gamma, void* dx, void* dgamma, void* dbeta);

}  // namespace mtmap::cpu
