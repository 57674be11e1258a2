// The CUDA backend: the contract of engine/backend/backend.h over kernels/cuda/, through the
// device state that owns it (ctx_). Each call enqueues on its compute stream and returns without
// synchronising. Scratch comes from its caching allocator as a byte tensor that lives until the
// call returns: safe, because every kernel of the context runs on that one stream in order, so a
// block freed here is reused only by work enqueued after this call's kernels.
#include "engine/backend/cuda_backend.h"

#include <exception>

#include "engine/core/error.h"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/context.h"
#include "engine/ops/conv3d.h"
#include "engine/tensor/tensor.h"
#include "kernels/cuda/conv3d.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/info_nce.h"
#include "kernels/cuda/spatial_loss.h"
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/pool3d.h"
#include "kernels/cuda/optim.h"

namespace mtmap {
namespace {

// Launchers are leaves and throw std exceptions (a bad dtype, a failed launch, a refused
// configuration); they reach the caller as mtmap::Error naming the kernel.
template <class F>
void guarded(const char* kernel, F&& launch) {
  try {
    launch();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    MTMAP_FAIL("{}: {}", kernel, e.what());
  }
}

// Device scratch of `bytes` (none for 0) from `ctx`'s allocator, freed when the returned tensor goes.
Tensor scratch(size_t bytes, const cuda::DeviceContext& ctx) {
  return bytes ? empty_from(ctx.allocator(), {int64_t(bytes)}, DType::u8) : Tensor();
}

void* raw_or_null(const Tensor& t) { return t.defined() ? t.raw() : nullptr; }

}  // namespace

CudaBackend::CudaBackend(cuda::DeviceContext& ctx) : ctx_(&ctx), index_(ctx.index()) {}

Allocator& CudaBackend::allocator() const { return ctx_->allocator(); }

void CudaBackend::copy_from_host(void* dst, const void* src, size_t bytes) const {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx_->stream()));
  ctx_->compute_stream().synchronize();  // the host buffer may be freed as soon as we return
  ctx_->check_index_errors();            // a synchronisation point (engine/cuda/index_errors.h)
}

void CudaBackend::copy_to_host(void* dst, const void* src, size_t bytes) const {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx_->stream()));
  ctx_->compute_stream().synchronize();
  ctx_->check_index_errors();  // before anyone reads data a bad index may have left unwritten
}

void CudaBackend::copy_from_peer(void* dst, const Backend& from, const void* src, size_t bytes) const {
  const auto* source = dynamic_cast<const CudaBackend*>(&from);
  MTMAP_CHECK(source != nullptr, "copy between devices: from {} to {}", from.device().str(), device().str());
  const int src_index = source->index_;
  source->ctx_->compute_stream().synchronize();  // the source's pending writes land first
  source->ctx_->check_index_errors();
  CUDA_CHECK(cudaMemcpyPeerAsync(dst, index_, src, src_index, bytes, ctx_->stream()));
  ctx_->compute_stream().synchronize();
  ctx_->check_index_errors();
}

void CudaBackend::unary(DType t, const UnaryParams& p, const void* in, void* out) const {
  guarded("unary", [&] { cuda::unary(t, p, in, out, ctx_->stream()); });
}
void CudaBackend::binary(DType t, BinaryOp op, const BinaryParams& p, const void* a, const void* b, void* out) const {
  guarded("binary", [&] { cuda::binary(t, op, p, a, b, out, ctx_->stream()); });
}
void CudaBackend::compare(DType t, CompareOp op, const BinaryParams& p, const void* a, const void* b,
                          uint8_t* out) const {
  guarded("compare", [&] { cuda::compare(t, op, p, a, b, out, ctx_->stream()); });
}
void CudaBackend::where(DType t, const WhereParams& p, const uint8_t* cond, const void* a, const void* b,
                        void* out) const {
  guarded("where", [&] { cuda::where(t, p, cond, a, b, out, ctx_->stream()); });
}
void CudaBackend::copy(DType src_t, DType dst_t, const CopyParams& p, const void* src, void* dst) const {
  guarded("copy", [&] { cuda::copy(src_t, dst_t, p, src, dst, ctx_->stream()); });
}
void CudaBackend::fill(DType t, int64_t n, double value, void* out) const {
  guarded("fill", [&] { cuda::fill(t, n, value, out, ctx_->stream()); });
}

void CudaBackend::reduce(DType t, const ReduceParams& p, const void* in, void* out) const {
  guarded("reduce", [&] { cuda::reduce(t, p, in, out, ctx_->stream()); });
}
void CudaBackend::row_op(DType t, const RowParams& p, const void* in, void* out) const {
  guarded("row_op", [&] { cuda::row_op(t, p, in, out, ctx_->stream()); });
}
void CudaBackend::gemm(DType t, const GemmParams& p, const void* a, const void* b, void* c) const {
  guarded("gemm", [&] {
    cuda::gemm(t, p, a, b, c, ctx_->cublas(), ctx_->stream());
  });
}

void CudaBackend::index_select(DType t, const IndexSelectParams& p, const void* in, const int64_t* idx,
                               void* out) const {
  guarded("index_select", [&] {
    cuda::index_select(t, p, in, idx, out, ctx_->index_error_record(), ctx_->stream());
  });
}
void CudaBackend::index_add(DType t, const IndexAddParams& p, const void* src, const int64_t* idx, void* out) const {
  guarded("index_add", [&] {
    cuda::index_add(t, p, src, idx, out, ctx_->index_error_record(), ctx_->stream());
  });
}
void CudaBackend::gather(DType t, const GatherParams& p, const void* in, const int64_t* idx, void* out) const {
  guarded("gather", [&] {
    cuda::gather(t, p, in, idx, out, ctx_->index_error_record(), ctx_->stream());
  });
}
void CudaBackend::scatter_add(DType t, const GatherParams& p, const void* src, const int64_t* idx, void* out) const {
  guarded("scatter_add", [&] {
    cuda::scatter_add(t, p, src, idx, out, ctx_->index_error_record(), ctx_->stream());
  });
}

void CudaBackend::uniform(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out) const {
  guarded("uniform", [&] { cuda::uniform(t, n, seed, offset, out, ctx_->stream()); });
}
void CudaBackend::normal(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out) const {
  guarded("normal", [&] { cuda::normal(t, n, seed, offset, out, ctx_->stream()); });
}
void CudaBackend::randperm(int64_t n, uint64_t seed, uint64_t offset, int64_t* out) const {
  guarded("randperm", [&] {
    const size_t bytes = cuda::randperm_workspace_bytes(n);
    Tensor ws = scratch(bytes, *ctx_);
    cuda::randperm(n, seed, offset, out, raw_or_null(ws), bytes, ctx_->stream());
  });
}

namespace {

// One conv3d operator with its workspace (sized for the operator, the dtype and the algorithm).
template <class Launch>
void run_conv(const char* kernel, ConvOperator op, const cuda::DeviceContext& ctx, DType t, const Conv3dProblem& p,
              const Conv3dOptions& o, Launch&& launch) {
  guarded(kernel, [&] {
    const size_t bytes = cuda::conv3d_workspace_bytes(op, t, p, o.cuda);
    Tensor ws = scratch(bytes, ctx);
    launch(raw_or_null(ws), bytes, ctx.stream());
  });
}

}  // namespace

void CudaBackend::conv3d_fprop(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* x, const void* w,
                               void* y) const {
  run_conv("conv3d", ConvOperator::fprop, *ctx_, t, p, o, [&](void* ws, size_t bytes, cudaStream_t s) {
    cuda::conv3d_fprop(t, p, o.cuda, x, w, y, ws, bytes, s);
  });
}
void CudaBackend::conv3d_dgrad(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* dy, const void* w,
                               void* dx) const {
  run_conv("conv3d_dgrad", ConvOperator::dgrad, *ctx_, t, p, o, [&](void* ws, size_t bytes, cudaStream_t s) {
    cuda::conv3d_dgrad(t, p, o.cuda, dy, w, dx, ws, bytes, s);
  });
}
void CudaBackend::conv3d_wgrad(DType t, const Conv3dProblem& p, const Conv3dOptions& o, const void* x, const void* dy,
                               void* dw) const {
  run_conv("conv3d_wgrad", ConvOperator::wgrad, *ctx_, t, p, o, [&](void* ws, size_t bytes, cudaStream_t s) {
    cuda::conv3d_wgrad(t, p, o.cuda, x, dy, dw, ws, bytes, s);
  });
}

void CudaBackend::bn_train_stats(DType t, DType pt, const BatchNormShape& s, const void* x, double eps,
                                 double momentum, void* running_mean, void* running_var, double* mean,
                                 double* invstd) const {
  guarded("batch_norm", [&] {
    Tensor ws = scratch(cuda::bn_workspace_bytes(s), *ctx_);
    cuda::bn_train_stats(t, pt, s, x, eps, momentum, running_mean, running_var, mean, invstd, raw_or_null(ws),
                         ctx_->stream());
  });
}
void CudaBackend::bn_eval_stats(DType pt, int64_t C, double eps, const void* running_mean, const void* running_var,
                                double* mean, double* invstd) const {
  guarded("batch_norm", [&] { cuda::bn_eval_stats(pt, C, eps, running_mean, running_var, mean, invstd, ctx_->stream()); });
}
void CudaBackend::bn_apply(DType t, DType pt, const BatchNormShape& s, const void* x, const double* mean,
                           const double* invstd, const void* gamma, const void* beta, bool relu, void* y) const {
  guarded("batch_norm", [&] { cuda::bn_apply(t, pt, s, x, mean, invstd, gamma, beta, relu, y, ctx_->stream()); });
}
void CudaBackend::bn_backward(DType t, DType pt, const BatchNormShape& s, bool training, const void* x,
                              const void* y_relu, const void* dy, const double* mean, const double* invstd,
                              const void* gamma, void* dx, void* dgamma, void* dbeta) const {
  guarded("batch_norm backward", [&] {
    Tensor ws = scratch(cuda::bn_workspace_bytes(s), *ctx_);
    cuda::bn_backward(t, pt, s, training, x, y_relu, dy, mean, invstd, gamma, dx, dgamma, dbeta,
                      ctx_->bn_one_pass_capacity(t, pt), raw_or_null(ws), ctx_->stream());
  });
}

void CudaBackend::max_pool3d(DType t, const Pool3dShape& s, const void* x, void* y, int64_t* argmax) const {
  guarded("max_pool3d", [&] { cuda::max_pool3d(t, s, x, y, argmax, ctx_->stream()); });
}
void CudaBackend::max_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, const int64_t* argmax,
                                      void* dx) const {
  guarded("max_pool3d backward", [&] { cuda::max_pool3d_backward(t, s, dy, argmax, dx, ctx_->stream()); });
}
void CudaBackend::adaptive_avg_pool3d(DType t, const Pool3dShape& s, const void* x, void* y) const {
  guarded("adaptive_avg_pool3d", [&] { cuda::adaptive_avg_pool3d(t, s, x, y, ctx_->stream()); });
}
void CudaBackend::adaptive_avg_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, void* dx) const {
  guarded("adaptive_avg_pool3d backward", [&] { cuda::adaptive_avg_pool3d_backward(t, s, dy, dx, ctx_->stream()); });
}

void CudaBackend::info_nce_forward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
                                   void* loss, double* lse) const {
  guarded("info_nce", [&] {
    Tensor ws = scratch(cuda::info_nce_workspace_bytes(t, p), *ctx_);
    cuda::info_nce_forward(t, p, q, k, queue, loss, lse, raw_or_null(ws), ctx_->cublas(), ctx_->stream());
  });
}
void CudaBackend::info_nce_backward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
                                    const double* lse, const void* grad, void* dq, void* dk) const {
  guarded("info_nce backward", [&] {
    Tensor ws = scratch(cuda::info_nce_workspace_bytes(t, p), *ctx_);
    cuda::info_nce_backward(t, p, q, k, queue, lse, grad, dq, dk, raw_or_null(ws), ctx_->cublas(), ctx_->stream());
  });
}
void CudaBackend::spatial_loss_forward(DType t, const SpatialLossParams& p, const void* x, const void* target,
                                       void* loss) const {
  guarded("spatial_loss", [&] {
    Tensor ws = scratch(cuda::spatial_loss_workspace_bytes(p), *ctx_);
    cuda::spatial_loss_forward(t, p, x, target, loss, nullptr, raw_or_null(ws), ctx_->stream());
  });
}
void CudaBackend::spatial_loss_backward(DType t, const SpatialLossParams& p, const void* x, const void* target,
                                        const void* grad, void* dx) const {
  guarded("spatial_loss backward", [&] {
    Tensor ws = scratch(cuda::spatial_loss_workspace_bytes(p), *ctx_);
    cuda::spatial_loss_backward(t, p, x, target, grad, dx, raw_or_null(ws), ctx_->stream());
  });
}

void CudaBackend::sgd_step(DType t, int64_t n, void* params, const void* grads, void* momentum_buf,
                           const void* decay_mask, double lr, double momentum, double weight_decay,
                           bool first_step) const {
  guarded("sgd", [&] {
    cuda::sgd_step(t, n, params, grads, momentum_buf, decay_mask, lr, momentum, weight_decay, first_step,
                   ctx_->stream());
  });
}
void CudaBackend::ema_update(DType t, int64_t n, void* target, const void* source, double m) const {
  guarded("ema_update", [&] { cuda::ema_update(t, n, target, source, m, ctx_->stream()); });
}

}  // namespace mtmap
