// The implicit-GEMM dgrad kernels: dx (N,D,H,W,C) from dy (N,Z,P,Q,K) and w as (C,T,R,S,K).
// One file per operator so the three compile in parallel (kernels/cuda/conv3d_igemm.cuh).
#include <stdexcept>
#include <string>

#include "kernels/cuda/conv3d_igemm.cuh"
#include "kernels/cuda/conv3d_internal.h"

namespace mtmap::cuda::conv_detail {

void igemm_dgrad(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* dy, const void* w_ctrsk,
                 void* dx, float* partial, cudaStream_t stream) {
  // GEMM operand A is dy, B is w_ctrsk (conv3d_igemm.h).
  switch (t) {
    case DType::bf16:
      igemm::run<IgemmDgrad, BFloat16>(plan, g, dy, w_ctrsk, dx, partial, stream);
      return;
    case DType::f32:
      igemm::run<IgemmDgrad, float>(plan, g, dy, w_ctrsk, dx, partial, stream);
      return;
    default:
      throw std::invalid_argument(std::string("cuda launcher conv3d_dgrad: implicit GEMM takes bf16 or f32, not ") +
                                  dtype_name(t));
  }
}

}  // namespace mtmap::cuda::conv_detail
