// The implicit-GEMM wgrad kernels: dw (K,T,R,S,C) from x (N,D,H,W,C) and dy (N,Z,P,Q,K).
// One file per operator so the three compile in parallel (kernels/cuda/conv3d_igemm.cuh).
#include "kernels/cuda/conv3d_igemm.cuh"
#include "kernels/cuda/conv3d_internal.h"

namespace mtmap::cuda::conv_detail {

void igemm_wgrad(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x, const void* dy, void* dw,
                 float* partial, cudaStream_t stream) {
  // GEMM operand A is dy, B is x (conv3d_igemm.h).
  igemm::run_dtype<IgemmWgrad>(t, "cuda launcher conv3d_wgrad: implicit GEMM", plan, g, dy, x, dw, partial, stream);
}

}  // namespace mtmap::cuda::conv_detail
