// The stem kernels: the implicit GEMM with the stem's gather maps (kernels/common/conv3d_igemm.h),
// fprop and wgrad; the stem's dgrad is the general kernel (its loads do not depend on C).
#include <stdexcept>
#include <string>

#include "kernels/cuda/conv3d_igemm.cuh"
#include "kernels/cuda/conv3d_internal.h"

namespace mtmap::cuda::conv_detail {

void igemm_stem_fprop(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x,
                      const void* w_padded, void* y, float* partial, cudaStream_t stream) {
  switch (t) {
    case DType::bf16:
      igemm::run<IgemmStemFprop, BFloat16>(plan, g, x, w_padded, y, partial, stream);
      return;
    case DType::f32:
      igemm::run<IgemmStemFprop, float>(plan, g, x, w_padded, y, partial, stream);
      return;
    default:
      throw std::invalid_argument(std::string("cuda launcher conv3d_fprop: the stem kernel takes bf16 or f32, not ") +
                                  dtype_name(t));
  }
}

void igemm_stem_wgrad(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x, const void* dy,
                      void* dw_padded, float* partial, cudaStream_t stream) {
  // GEMM operand A is dy, B is x (conv3d_igemm.h).
  switch (t) {
    case DType::bf16:
      igemm::run<IgemmStemWgrad, BFloat16>(plan, g, dy, x, dw_padded, partial, stream);
      return;
    case DType::f32:
      igemm::run<IgemmStemWgrad, float>(plan, g, dy, x, dw_padded, partial, stream);
      return;
    default:
      throw std::invalid_argument(std::string("cuda launcher conv3d_wgrad: the stem kernel takes bf16 or f32, not ") +
                                  dtype_name(t));
  }
}

}  // namespace mtmap::cuda::conv_detail
