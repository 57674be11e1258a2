#pragma once
// CUDA launchers of batch norm (f32, f64, bf16; bf16 computes in f32). The parameters (γ, β, the
// running statistics and the gradients of γ and β) have dtype pt: the input's, or f32 for a bf16
// input (mixed precision: bf16 activations, f32 parameters and statistics). Raw device pointers, the
// shape struct the CPU kernels use, a stream; nothing is synchronised. Deterministic: every
// reduction (the statistics, the gradient sums) adds its terms in an order fixed by the shape
// alone; no atomics.
#include "kernels/cuda/dialect.h"

#include <cstddef>
#include <cstdint>

#include "kernels/common/batch_norm.h"
#include "kernels/common/dtype.h"

namespace mtmap::cuda {

// Device scratch for bn_train_stats and bn_backward (per-block partial sums).
size_t bn_workspace_bytes(const BatchNormShape& s);

// Training statistics of x (N, C, S): per channel mean and 1/sqrt(biased var + eps) into the
// double vectors mean, invstd (C each), and the running statistics (dtype t, C each) updated in
// place: running = (1 − momentum)·running + momentum·batch, with the unbiased variance (PyTorch).
// Needs N·S ≥ 2.
void bn_train_stats(DType t, DType pt, const BatchNormShape& s, const void* x, double eps, double momentum, void* running_mean,
                    void* running_var, double* mean, double* invstd, void* workspace, cudaStream_t stream);
// Eval statistics: mean = running_mean, invstd = 1/sqrt(running_var + eps) (doubles, C each).
void bn_eval_stats(DType pt, int64_t C, double eps, const void* running_mean, const void* running_var, double* mean,
                   double* invstd, cudaStream_t stream);
// y = a·x + b per channel (a = γ·invstd, b = β − a·mean, as the CPU kernel), max(y, 0) when relu.
void bn_apply(DType t, DType pt, const BatchNormShape& s, const void* x, const double* mean, const double* invstd,
              const void* gamma, const void* beta, bool relu, void* y, cudaStream_t stream);
// How many blocks of the one-pass backward kernel (dtype t) device `device` holds resident at
// once: 0 where it has no cooperative launches. Asks the driver each call; keep the answer (the
// engine's DeviceContext does, per device and dtype).
int64_t bn_one_pass_capacity(DType t, DType pt, int device);
// Whether bn_backward reads (x, dy) once for this shape on a GPU of that capacity (one cooperative
// kernel; the grid must be resident at once), rather than in two passes.
bool bn_backward_single_pass(const BatchNormShape& s, int64_t one_pass_capacity);
// Backward. y_relu: the forward output when the ReLU was fused (the gradient is kept where y > 0,
// the mask is applied on the fly, no masked copy of dy), else null. dx, dgamma, dbeta may be null.
// training: the gradient flows through the batch statistics too. one_pass_capacity: what
// bn_one_pass_capacity answered for this device and dtype (0 forces the two-pass kernels).
void bn_backward(DType t, DType pt, const BatchNormShape& s, bool training, const void* x, const void* y_relu, const void* dy,
                 const double* mean, const double* invstd, const void* gamma, void* dx, void* dgamma, void* dbeta,
                 int64_t one_pass_capacity, void* workspace, cudaStream_t stream);

}  // namespace mtmap::cuda
