#include "engine/backend/backend.h"

#include "engine/context/execution_context.h"
#include "engine/core/error.h"

namespace mtmap {

void Backend::not_supported(const char* kernel) const {
  MTMAP_FAIL("{}: not supported on the {} backend ({})", kernel, name(), device().str());
}

// Defaults for a backend that lacks a kernel: a clear error, never a hidden fallback.
void Backend::copy_from_host(void*, const void*, size_t) const { not_supported("copy from the host"); }
void Backend::copy_to_host(void*, const void*, size_t) const { not_supported("copy to the host"); }
void Backend::copy_from_peer(void*, const Backend&, const void*, size_t) const { not_supported("copy between devices"); }
void Backend::unary(DType, const UnaryParams&, const void*, void*) const { not_supported("unary"); }
void Backend::binary(DType, BinaryOp, const BinaryParams&, const void*, const void*,
    void*) const { not_supported("binary"); }
void Backend::compare(DType, CompareOp, const BinaryParams&, const void*, const void*,
    uint8_t*) const { not_supported("compare"); }
void Backend::where(DType, const WhereParams&, const uint8_t*, const void*, const void*,
    void*) const { not_supported("where"); }
void Backend::copy(DType, DType, const CopyParams&, const void*, void*) const { not_supported("copy"); }
void Backend::fill(DType, int64_t, double, void*) const { not_supported("fill"); }
void Backend::reduce(DType, const ReduceParams&, const void*, void*) const { not_supported("reduce"); }
void Backend::row_op(DType, const RowParams&, const void*, void*) const { not_supported("row_op"); }
void Backend::gemm(DType, const GemmParams&, const void*, const void*, void*) const { not_supported("gemm"); }
void Backend::index_select(DType, const IndexSelectParams&, const void*, const int64_t*,
    void*) const { not_supported("index_select"); }
void Backend::index_add(DType, const IndexAddParams&, const void*, const int64_t*,
    void*) const { not_supported("index_add"); }
void Backend::gather(DType, const GatherParams&, const void*, const int64_t*, void*) const { not_supported("gather"); }
void Backend::scatter_add(DType, const GatherParams&, const void*, const int64_t*,
    void*) const { not_supported("scatter_add"); }
void Backend::uniform(DType, int64_t, uint64_t, uint64_t, void*) const { not_supported("uniform"); }
void Backend::normal(DType, int64_t, uint64_t, uint64_t, void*) const { not_supported("normal"); }
void Backend::randperm(int64_t, uint64_t, uint64_t, int64_t*) const { not_supported("randperm"); }
void Backend::conv3d_fprop(DType, const Conv3dProblem&, const Conv3dOptions&, const void*, const void*,
    void*) const { not_supported("conv3d_fprop"); }
void Backend::conv3d_dgrad(DType, const Conv3dProblem&, const Conv3dOptions&, const void*, const void*,
    void*) const { not_supported("conv3d_dgrad"); }
void Backend::conv3d_wgrad(DType, const Conv3dProblem&, const Conv3dOptions&, const void*, const void*,
    void*) const { not_supported("conv3d_wgrad"); }
void Backend::bn_train_stats(DType, DType, const BatchNormShape&, const void*, double, double, void*, void*, double*,
    double*) const { not_supported("bn_train_stats"); }
void Backend::bn_eval_stats(DType, int64_t, double, const void*, const void*, double*,
    double*) const { not_supported("bn_eval_stats"); }
void Backend::bn_apply(DType, DType, const BatchNormShape&, const void*, const double*, const double*, const void*,
    const void*, bool, void*) const { not_supported("bn_apply"); }
void Backend::bn_backward(DType, DType, const BatchNormShape&, bool, const void*, const void*, const void*, const double*,
    const double*, const void*, void*, void*, void*) const { not_supported("bn_backward"); }
void Backend::max_pool3d(DType, const Pool3dShape&, const void*, void*, int64_t*) const { not_supported("max_pool3d"); }
void Backend::max_pool3d_backward(DType, const Pool3dShape&, const void*, const int64_t*,
    void*) const { not_supported("max_pool3d_backward"); }
void Backend::adaptive_avg_pool3d(DType, const Pool3dShape&, const void*,
    void*) const { not_supported("adaptive_avg_pool3d"); }
void Backend::adaptive_avg_pool3d_backward(DType, const Pool3dShape&, const void*,
    void*) const { not_supported("adaptive_avg_pool3d_backward"); }
void Backend::info_nce_forward(DType, const InfoNceParams&, const void*, const void*, const void*, void*,
    double*) const { not_supported("info_nce_forward"); }
void Backend::info_nce_backward(DType, const InfoNceParams&, const void*, const void*, const void*, const double*,
    const void*, void*, void*) const { not_supported("info_nce_backward"); }
void Backend::spatial_loss_forward(DType, const SpatialLossParams&, const void*, const void*,
    void*) const { not_supported("spatial_loss_forward"); }
void Backend::spatial_loss_backward(DType, const SpatialLossParams&, const void*, const void*, const void*,
    void*) const { not_supported("spatial_loss_backward"); }
void Backend::sgd_step(DType, int64_t, void*, const void*, void*, const void*, double, double, double,
    bool) const { not_supported("sgd_step"); }
void Backend::ema_update(DType, int64_t, void*, const void*, double) const { not_supported("ema_update"); }

const Backend& backend_of(const Device& device) {
  // The calling thread's current context for the device (its innermost scope, else the device's
  // default context): engine/context/execution_context.h.
  return ExecutionContext::current(device).backend();
}

}  // namespace mtmap
