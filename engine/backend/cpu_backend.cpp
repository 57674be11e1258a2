// The CPU backend: the contract of engine/backend/backend.h over kernels/cpu/. Every call runs
// to completion before it returns (OpenMP inside the kernels); pointers are host memory.
#include "engine/backend/cpu_backend.h"

#include "engine/core/error.h"
#include "engine/ops/conv3d.h"
#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/info_nce.h"
#include "kernels/cpu/spatial_loss.h"
#include "kernels/cpu/batch_norm.h"
#include "kernels/cpu/pool3d.h"
#include "kernels/cpu/optim.h"

namespace mtmap {
namespace {

// The losses' scalars: the CPU kernels return and take doubles; the contract keeps them in
// one-element buffers of the loss's dtype (f32 or f64), as on the GPU.
double read_scalar(DType t, const void* p) {
  if (t == DType::f32) return double(*static_cast<const float*>(p));
  MTMAP_CHECK(t == DType::f64, "cpu backend: a loss scalar of dtype {} (f32 or f64)", dtype_name(t));
  return *static_cast<const double*>(p);
}

void write_scalar(DType t, double v, void* p) {
  if (t == DType::f32) {
    *static_cast<float*>(p) = float(v);
    return;
  }
  MTMAP_CHECK(t == DType::f64, "cpu backend: a loss scalar of dtype {} (f32 or f64)", dtype_name(t));
  *static_cast<double*>(p) = v;
}

}  // namespace

void CpuBackend::unary(DType t, const UnaryParams& p, const void* in, void* out) const { cpu::unary(t, p, in, out); }
void CpuBackend::binary(DType t, BinaryOp op, const BinaryParams& p, const void* a, const void* b, void* out) const {
  cpu::binary(t, op, p, a, b, out);
}
void CpuBackend::compare(DType t, CompareOp op, const BinaryParams& p, const void* a, const void* b,
                         uint8_t* out) const {
  cpu::compare(t, op, p, a, b, out);
}
void CpuBackend::where(DType t, const WhereParams& p, const uint8_t* cond, const void* a, const void* b,
                       void* out) const {
  cpu::where(t, p, cond, a, b, out);
}
void CpuBackend::copy(DType src_t, DType dst_t, const CopyParams& p, const void* src, void* dst) const {
  cpu::copy(src_t, dst_t, p, src, dst);
}
void CpuBackend::fill(DType t, int64_t n, double value, void* out) const { cpu::fill(t, n, value, out); }

void CpuBackend::reduce(DType t, const ReduceParams& p, const void* in, void* out) const { cpu::reduce(t, p, in, out); }
void CpuBackend::row_op(DType t, const RowParams& p, const void* in, void* out) const { cpu::row_op(t, p, in, out); }
void CpuBackend::gemm(DType t, const GemmParams& p, const void* a, const void* b, void* c) const {
  cpu::gemm(t, p, a, b, c);
}

void CpuBackend::index_select(DType t, const IndexSelectParams& p, const void* in, const int64_t* idx,
                              void* out) const {
  cpu::index_select(t, p, in, idx, out);
}
void CpuBackend::index_add(DType t, const IndexAddParams& p, const void* src, const int64_t* idx, void* out) const {
  cpu::index_add(t, p, src, idx, out);
}
void CpuBackend::gather(DType t, const GatherParams& p, const void* in, const int64_t* idx, void* out) const {
  cpu::gather(t, p, in, idx, out);
}
void CpuBackend::scatter_add(DType t, const GatherParams& p, const void* src, const int64_t* idx, void* out) const {
  cpu::scatter_add(t, p, src, idx, out);
}

void CpuBackend::uniform(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out) const {
  cpu::uniform(t, n, seed, offset, out);
}
void CpuBackend::normal(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out) const {
  cpu::normal(t, n, seed, offset, out);
}
void CpuBackend::randperm(int64_t n, uint64_t seed, uint64_t offset, int64_t* out) const {
  cpu::randperm(n, seed, offset, out);
}

void CpuBackend::conv3d_fprop(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* x, const void* w,
                              void* y) const {
  cpu::conv3d_fprop(t, o.cpu_algo, p, x, w, y);
}
void CpuBackend::conv3d_dgrad(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* dy, const void* w,
                              void* dx) const {
  cpu::conv3d_dgrad(t, o.cpu_algo, p, dy, w, dx);
}
void CpuBackend::conv3d_wgrad(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* x, const void* dy,
                              void* dw) const {
  cpu::conv3d_wgrad(t, o.cpu_algo, p, x, dy, dw);
}

// The CPU's batch norm keeps the parameters in the input's dtype (no mixed precision here: the CPU
// has no bf16 convolution, and simulates bf16 activations by rounding f32 ones, nn::Conv3d).
static void same_dtype_params(const char* op, DType t, DType pt) {
  MTMAP_CHECK(pt == t, "{} on the CPU: a {} input with {} parameters (the CPU needs them in one dtype)", op,
              dtype_name(t), dtype_name(pt));
}

void CpuBackend::bn_train_stats(DType t, DType pt, const BatchNormShape& s, const void* x, double eps, double momentum,
                                void* running_mean, void* running_var, double* mean, double* invstd) const {
  same_dtype_params("batch_norm", t, pt);
  cpu::bn_train_stats(t, s, x, eps, momentum, running_mean, running_var, mean, invstd);
}
void CpuBackend::bn_eval_stats(DType pt, int64_t C, double eps, const void* running_mean, const void* running_var,
                               double* mean, double* invstd) const {
  cpu::bn_eval_stats(pt, C, eps, running_mean, running_var, mean, invstd);
}
void CpuBackend::bn_apply(DType t, DType pt, const BatchNormShape& s, const void* x, const double* mean,
                          const double* invstd, const void* gamma, const void* beta, bool relu, void* y) const {
  same_dtype_params("batch_norm", t, pt);
  cpu::bn_apply(t, s, x, mean, invstd, gamma, beta, relu, y);
}
void CpuBackend::bn_backward(DType t, DType pt, const BatchNormShape& s, bool training, const void* x,
                             const void* y_relu, const void* dy, const double* mean, const double* invstd,
                             const void* gamma, void* dx, void* dgamma, void* dbeta) const {
  same_dtype_params("batch_norm backward", t, pt);
  cpu::bn_backward(t, s, training, x, y_relu, dy, mean, invstd, gamma, dx, dgamma, dbeta);
}

void CpuBackend::max_pool3d(DType t, const Pool3dShape& s, const void* x, void* y, int64_t* argmax) const {
  cpu::max_pool3d(t, s, x, y, argmax);
}
void CpuBackend::max_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, const int64_t* argmax,
                                     void* dx) const {
  cpu::max_pool3d_backward(t, s, dy, argmax, dx);
}
void CpuBackend::adaptive_avg_pool3d(DType t, const Pool3dShape& s, const void* x, void* y) const {
  cpu::adaptive_avg_pool3d(t, s, x, y);
}
void CpuBackend::adaptive_avg_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, void* dx) const {
  cpu::adaptive_avg_pool3d_backward(t, s, dy, dx);
}

void CpuBackend::info_nce_forward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
                                  void* loss, double* lse) const {
  write_scalar(t, cpu::info_nce_forward(t, p, q, k, queue, lse), loss);
}
void CpuBackend::info_nce_backward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
                                   const double* lse, const void* grad, void* dq, void* dk) const {
  cpu::info_nce_backward(t, p, q, k, queue, lse, read_scalar(t, grad), dq, dk);
}
void CpuBackend::spatial_loss_forward(DType t, const SpatialLossParams& p, const void* x, const void* target,
                                      void* loss) const {
  write_scalar(t, cpu::spatial_loss_forward(t, p, x, target).loss, loss);
}
void CpuBackend::spatial_loss_backward(DType t, const SpatialLossParams& p, const void* x, const void* target,
                                       const void* grad, void* dx) const {
  cpu::spatial_loss_backward(t, p, x, target, read_scalar(t, grad), dx);
}

void CpuBackend::sgd_step(DType t, int64_t n, void* params, const void* grads, void* momentum_buf,
                          const void* decay_mask, double lr, double momentum, double weight_decay,
                          bool first_step) const {
  cpu::sgd_step(t, n, params, grads, momentum_buf, decay_mask, lr, momentum, weight_decay, first_step);
}
void CpuBackend::ema_update(DType t, int64_t n, void* target, const void* source, double m) const {
  cpu::ema_update(t, n, target, source, m);
}

}  // namespace mtmap
