// The implicit-GEMM wgrad kernels: dw (K,T,R,S,C) from x (N,D,H,W,C) and dy (N,Z,P,Q,K).
// One file per operator so the three compile in parallel (kernels/cuda/conv3d_igemm.cuh).
#include <stdexcept>
#include <string>

#include "kernels/cuda/conv3d_igemm.cuh"
#include "kernels/cuda/conv3d_internal.h"

namespace mtmap::cuda::conv_detail {

void igemm_wgrad(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x, const void* dy, void* dw,
                 float* partial, cudaStream_t stream) {
  // GEMM operand A is dy, B is x (conv3d_igemm.h).
  switch (t) {
    case DType::bf16:
      igemm::run<IgemmWgrad, BFloat16>(plan, g, dy, x, dw, partial, stream);
      return;
    case DType::f32:
      igemm::run<IgemmWgrad, float>(plan, g, dy, x, dw, partial, stream);
      return;
    default:
      throw std::invalid_argument(std::string("cuda launcher conv3d_wgrad: implicit GEMM takes bf16 or f32, not ") +
                                  dtype_name(t));
  }
}

}  // namespace mtmap::cuda::conv_detail
