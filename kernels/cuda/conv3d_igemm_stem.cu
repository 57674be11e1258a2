// The stem kernels: the implicit GEMM with the stem's gather maps (kernels/common/conv3d_igemm.h),
// fprop and wgrad; the stem's dgrad is the general kernel (its loads do not depend on C).
#include "kernels/cuda/conv3d_igemm.cuh"
#include "kernels/cuda/conv3d_internal.h"

namespace mtmap::cuda::conv_detail {

void igemm_stem_fprop(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x,
                      const void* w_padded, void* y, float* partial, cudaStream_t stream) {
  igemm::run_dtype<IgemmStemFprop>(t, "cuda launcher conv3d_fprop: the stem kernel", plan, g, x, w_padded, y, partial,
                                   stream);
}

void igemm_stem_wgrad(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x, const void* dy,
                      void* dw_padded, float* partial, cudaStream_t stream) {
  // GEMM operand A is dy, B is x (conv3d_igemm.h).
  igemm::run_dtype<IgemmStemWgrad>(t, "cuda launcher conv3d_wgrad: the stem kernel", plan, g, dy, x, dw_padded, partial,
                                   stream);
}

}  // namespace mtmap::cuda::conv_detail
