#pragma once
// The CUDA backend (engine/backend/backend.h) of one GPU over kernels/cuda/, owned by the device
// state of an execution context (cuda::DeviceContext, engine/cuda/context.h) and working through
// it alone: every kernel enqueued on its compute stream, cuBLAS bound to it, kernels' scratch
// from its caching allocator. Only compiled when the CUDA backend is built (MTMAP_WITH_CUDA).
#include "engine/backend/backend.h"

namespace mtmap {

namespace cuda {
class DeviceContext;
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(cuda::DeviceContext& ctx);
  cuda::DeviceContext& context() const { return *ctx_; }
  Device device() const override { return Device::cuda(index_); }
  const char* name() const override { return "cuda"; }
  Allocator& allocator() const override;
  void copy_from_host(void* dst, const void* src, size_t bytes) const override;
  void copy_to_host(void* dst, const void* src, size_t bytes) const override;
  void copy_from_peer(void* dst, const Backend& from, const void* src, size_t bytes) const override;

  void unary(DType t, const UnaryParams& p, const void* in, void* out) const override;
  void binary(DType t, BinaryOp op, const BinaryParams& p, const void* a, const void* b, void* out) const override;
  void compare(DType t, CompareOp op, const BinaryParams& p, const void* a, const void* b,
      uint8_t* out) const override;
  void where(DType t, const WhereParams& p, const uint8_t* cond, const void* a, const void* b,
      void* out) const override;
  void copy(DType src_t, DType dst_t, const CopyParams& p, const void* src, void* dst) const override;
  void fill(DType t, int64_t n, double value, void* out) const override;
  void reduce(DType t, const ReduceParams& p, const void* in, void* out) const override;
  void row_op(DType t, const RowParams& p, const void* in, void* out) const override;
  void gemm(DType t, const GemmParams& p, const void* a, const void* b, void* c) const override;
  void index_select(DType t, const IndexSelectParams& p, const void* in, const int64_t* idx,
      void* out) const override;
  void index_add(DType t, const IndexAddParams& p, const void* src, const int64_t* idx, void* out) const override;
  void gather(DType t, const GatherParams& p, const void* in, const int64_t* idx, void* out) const override;
  void scatter_add(DType t, const GatherParams& p, const void* src, const int64_t* idx, void* out) const override;
  void uniform(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out) const override;
  void normal(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out) const override;
  void randperm(int64_t n, uint64_t seed, uint64_t offset, int64_t* out) const override;
  void conv3d_fprop(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* x, const void* w,
      void* y) const override;
  void conv3d_dgrad(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* dy, const void* w,
      void* dx) const override;
  void conv3d_wgrad(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* x, const void* dy,
      void* dw) const override;
  void bn_train_stats(DType t, DType pt, const BatchNormShape& s, const void* x, double eps, double momentum,
      void* running_mean, void* running_var, double* mean, double* invstd) const override;
  void bn_eval_stats(DType pt, int64_t C, double eps, const void* running_mean, const void* running_var, double* mean,
      double* invstd) const override;
  void bn_apply(DType t, DType pt, const BatchNormShape& s, const void* x, const double* mean, const double* invstd,
      const void* gamma, const void* beta, bool relu, void* y) const override;
  void bn_backward(DType t, DType pt, const BatchNormShape& s, bool training, const void* x, const void* y_relu, const void* dy,
      const double* mean, const double* invstd, const void* gamma, void* dx, void* dgamma,
      void* dbeta) const override;
  void max_pool3d(DType t, const Pool3dShape& s, const void* x, void* y, int64_t* argmax) const override;
  void max_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, const int64_t* argmax,
      void* dx) const override;
  void adaptive_avg_pool3d(DType t, const Pool3dShape& s, const void* x, void* y) const override;
  void adaptive_avg_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, void* dx) const override;
  void info_nce_forward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue, void* loss,
      double* lse) const override;
  void info_nce_backward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
      const double* lse, const void* grad, void* dq, void* dk) const override;
  void spatial_loss_forward(DType t, const SpatialLossParams& p, const void* x, const void* target,
      void* loss) const override;
  void spatial_loss_backward(DType t, const SpatialLossParams& p, const void* x, const void* target, const void* grad,
      void* dx) const override;
  void sgd_step(DType t, int64_t n, void* params, const void* grads, void* momentum_buf, const void* decay_mask,
      double lr, double momentum, double weight_decay, bool first_step) const override;
  void ema_update(DType t, int64_t n, void* target, const void* source, double m) const override;

 private:
  cuda::DeviceContext* ctx_;
  int index_;
};

}  // namespace mtmap
