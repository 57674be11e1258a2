// The implicit-GEMM dgrad kernels: dx (N,D,H,W,C) from dy (N,Z,P,Q,K) and w as (C,T,R,S,K).
// One file per operator so the three compile in parallel (kernels/cuda/conv3d_igemm.cuh).
#include "kernels/cuda/conv3d_igemm.cuh"
#include "kernels/cuda/conv3d_internal.h"

namespace mtmap::cuda::conv_detail {

void igemm_dgrad(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* dy, const void* w_ctrsk,
                 void* dx, float* partial, cudaStream_t stream) {
  // GEMM operand A is dy, B is w_ctrsk (conv3d_igemm.h).
  igemm::run_dtype<IgemmDgrad>(t, "cuda launcher conv3d_dgrad: implicit GEMM", plan, g, dy, w_ctrsk, dx, partial,
                               stream);
}

void igemm_dgrad_phase(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* dy,
                       const void* w_ctrsk, void* dx, float* partial, cudaStream_t stream) {
  igemm::run_dtype<IgemmDgradPhase>(t, "cuda launcher conv3d_dgrad: implicit GEMM", plan, g, dy, w_ctrsk, dx, partial,
                                    stream);
}

}  // namespace mtmap::cuda::conv_detail
