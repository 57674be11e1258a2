#pragma once
// The backend contract: everything an op asks of a device's kernels, in one interface. Each op
// (engine/ops/, losses/, engine/optim/) has one forward and one backward body written against it;
// the CPU backend (engine/backend/cpu_backend.cpp) and the CUDA backend (cuda_backend.cpp) each
// implement it over their kernels (kernels/cpu/, kernels/cuda/). A backend that lacks a kernel
// inherits the default, which throws "<kernel>: not supported on the <backend> backend".
//
// Arguments are the kernels' own: a dtype, a params struct from kernels/common/, raw pointers to
// memory on the backend's device, all sized by the caller. What differs between backends stays
// behind the contract: the CUDA backend enqueues on its device's stream (nothing is synchronised),
// binds cuBLAS, and allocates its kernels' scratch; a launcher's std exception reaches the caller
// as an mtmap::Error naming the kernel. Results that are scalars (a loss) are written to a
// one-element buffer of dtype t on the device, so the ops never read device memory back.
#include <cstddef>
#include <cstdint>

#include "engine/core/device.h"
#include "engine/tensor/allocator.h"
#include "kernels/common/conv3d_problem.h"
#include "kernels/common/dtype.h"
#include "kernels/common/elementwise.h"
#include "kernels/common/gemm.h"
#include "kernels/common/index.h"
#include "kernels/common/info_nce.h"
#include "kernels/common/spatial_loss.h"
#include "kernels/common/batch_norm.h"
#include "kernels/common/pool3d.h"
#include "kernels/common/reduce.h"

namespace mtmap {

struct Conv3dOptions;  // engine/ops/conv3d.h: the algorithm choices of each backend

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual const char* name() const = 0;  // "cpu", "cuda"
  // Where the device's tensors get their storage.
  virtual Allocator& allocator() const = 0;

  // Bytes between this device and the host or another device of the same kind. All three
  // return when the copy is complete (the source may be freed at once).
  virtual void copy_from_host(void* dst, const void* src, size_t bytes) const;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) const;
  virtual void copy_from_peer(void* dst, const Backend& from, const void* src, size_t bytes) const;

  // Elementwise (kernels/common/elementwise.h). copy and fill take every dtype.
  virtual void unary(DType t, const UnaryParams& p, const void* in, void* out) const;
  virtual void binary(DType t, BinaryOp op, const BinaryParams& p, const void* a, const void* b, void* out) const;
  virtual void compare(DType t, CompareOp op, const BinaryParams& p, const void* a, const void* b, uint8_t* out) const;
  virtual void where(DType t, const WhereParams& p, const uint8_t* cond, const void* a, const void* b,
                     void* out) const;
  virtual void copy(DType src_t, DType dst_t, const CopyParams& p, const void* src, void* dst) const;
  virtual void fill(DType t, int64_t n, double value, void* out) const;

  // Reductions over rows of a (rows, cols) view, and row-wise softmax-like ops.
  virtual void reduce(DType t, const ReduceParams& p, const void* in, void* out) const;
  virtual void row_op(DType t, const RowParams& p, const void* in, void* out) const;
  virtual void gemm(DType t, const GemmParams& p, const void* a, const void* b, void* c) const;

  virtual void index_select(DType t, const IndexSelectParams& p, const void* in, const int64_t* idx,
                            void* out) const;
  virtual void index_add(DType t, const IndexAddParams& p, const void* src, const int64_t* idx, void* out) const;
  virtual void gather(DType t, const GatherParams& p, const void* in, const int64_t* idx, void* out) const;
  virtual void scatter_add(DType t, const GatherParams& p, const void* src, const int64_t* idx, void* out) const;

  // Philox streams (kernels/common/philox.h): the same numbers on every backend.
  virtual void uniform(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out) const;
  virtual void normal(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out) const;
  virtual void randperm(int64_t n, uint64_t seed, uint64_t offset, int64_t* out) const;

  // 3D convolution (kernels/common/conv3d_problem.h); `o` names the algorithm each backend runs.
  virtual void conv3d_fprop(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* x, const void* w,
                            void* y) const;
  virtual void conv3d_dgrad(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* dy, const void* w,
                            void* dx) const;
  virtual void conv3d_wgrad(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* x, const void* dy,
                            void* dw) const;

  // Batch norm over (N, C, S). Statistics are double vectors (C) on the device: mean and
  // invstd = 1/sqrt(var + eps). Training: the batch's (biased) statistics, and the running ones
  // (dtype pt) updated in place with the unbiased variance, as PyTorch keeps them. The parameters'
  // dtype pt is x's, or f32 for a bf16 x where the backend has mixed precision (CUDA).
  virtual void bn_train_stats(DType t, DType pt, const BatchNormShape& s, const void* x, double eps, double momentum,
                              void* running_mean, void* running_var, double* mean, double* invstd) const;
  virtual void bn_eval_stats(DType pt, int64_t C, double eps, const void* running_mean, const void* running_var,
                             double* mean, double* invstd) const;
  // y = gamma·(x − mean)·invstd + beta, then max(y, 0) when relu.
  virtual void bn_apply(DType t, DType pt, const BatchNormShape& s, const void* x, const double* mean, const double* invstd,
                        const void* gamma, const void* beta, bool relu, void* y) const;
  // y_relu: the forward output when the ReLU was fused (the gradient passes where y > 0), else
  // null. dx, dgamma, dbeta may each be null. training: the gradient flows through the statistics.
  virtual void bn_backward(DType t, DType pt, const BatchNormShape& s, bool training, const void* x, const void* y_relu,
                           const void* dy, const double* mean, const double* invstd, const void* gamma, void* dx,
                           void* dgamma, void* dbeta) const;

  virtual void max_pool3d(DType t, const Pool3dShape& s, const void* x, void* y, int64_t* argmax) const;
  virtual void max_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, const int64_t* argmax,
                                   void* dx) const;
  virtual void adaptive_avg_pool3d(DType t, const Pool3dShape& s, const void* x, void* y) const;
  virtual void adaptive_avg_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, void* dx) const;

  // The losses (kernels/common/info_nce.h, spatial_loss.h). loss: one element of dtype t; lse: N doubles kept for
  // the backward pass; grad: the loss's incoming gradient, one element of dtype t.
  virtual void info_nce_forward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
                                void* loss, double* lse) const;
  virtual void info_nce_backward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
                                 const double* lse, const void* grad, void* dq, void* dk) const;
  virtual void spatial_loss_forward(DType t, const SpatialLossParams& p, const void* x, const void* target,
                                    void* loss) const;
  virtual void spatial_loss_backward(DType t, const SpatialLossParams& p, const void* x, const void* target,
                                     const void* grad, void* dx) const;

  // The optimiser's flat-buffer updates (engine/optim/sgd.h).
  virtual void sgd_step(DType t, int64_t n, void* params, const void* grads, void* momentum_buf, const void* decay_mask,
                        double lr, double momentum, double weight_decay, bool first_step) const;
  virtual void ema_update(DType t, int64_t n, void* target, const void* source, double m) const;

 protected:
  [[noreturn]] void not_supported(const char* kernel) const;
};

// The backend of `device` the calling thread runs ops on: that of its current execution context
// for the device (the innermost ExecutionContext::Use scope of a context of `device`, else the
// device's default context, made on first use): engine/context/execution_context.h.
// Throws, naming the device, when this build or this machine has no such device.
const Backend& backend_of(const Device& device);

}  // namespace mtmap
