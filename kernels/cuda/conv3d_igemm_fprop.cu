// The implicit-GEMM fprop kernels: y (N,Z,P,Q,K) = x (N,D,H,W,C) ⊛ w (K,T,R,S,C).
// One file per operator so the three compile in parallel (kernels/cuda/conv3d_igemm.cuh).
#include "kernels/cuda/conv3d_igemm.cuh"
#include "kernels/cuda/conv3d_internal.h"

namespace mtmap::cuda::conv_detail {

void igemm_fprop(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x, const void* w, void* y,
                 float* partial, cudaStream_t stream) {
  // GEMM operand A is x, B is w (conv3d_igemm.h).
  igemm::run_dtype<IgemmFprop>(t, "cuda launcher conv3d_fprop: implicit GEMM", plan, g, x, w, y, partial, stream);
}

// All tensor-core kernels are built for the same architectures: one of them answers for all.
#if defined(MTMAP_CUDA_EMU)
int igemm_binary_version() { return 90; }  // the emulator implements sm_80+'s warp-level instructions
#else
int igemm_binary_version() { return igemm::binary_version<IgemmFprop, BFloat16>(); }
#endif

}  // namespace mtmap::cuda::conv_detail
