#pragma once
// The pieces conv3d.cu assembles (not a public header): the implicit-GEMM runs of each operator
// (one .cu each, so nvcc compiles them in parallel), the layout transforms and the analytic
// kernels.
#include "kernels/cuda/dialect.h"

#include <cstdint>

#include "kernels/common/conv3d_igemm.h"
#include "kernels/common/dtype.h"

namespace mtmap::cuda::conv_detail {

// t: bf16 or f32 (TF32). Operands channels-last as in kernels/common/conv3d_igemm.h.
void igemm_fprop(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x, const void* w, void* y,
                 float* partial, cudaStream_t stream);
void igemm_dgrad(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* dy, const void* w_ctrsk,
                 void* dx, float* partial, cudaStream_t stream);
void igemm_wgrad(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x, const void* dy, void* dw,
                 float* partial, cudaStream_t stream);
// One stride phase of a strided dgrad (g from make_igemm_dgrad_phase_geom): writes the phase's
// positions of dx (N,D,H,W,C), every channel.
void igemm_dgrad_phase(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* dy,
                       const void* w_ctrsk, void* dx, float* partial, cudaStream_t stream);
// The stem kernels: x (N,D,H,W,C) and weights / weight gradient as (K, T, R, SC), SC = S·C rounded
// up to 8 with zeros beyond S·C (g from make_igemm_stem_geom).
void igemm_stem_fprop(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x,
                      const void* w_padded, void* y, float* partial, cudaStream_t stream);
void igemm_stem_wgrad(DType t, const ::mtmap::igemm::Plan& plan, const IgemmGeom& g, const void* x, const void* dy,
                      void* dw_padded, float* partial, cudaStream_t stream);
// The compiled architecture of the tensor-core kernels (e.g. 90; 0 when none loads on this GPU).
int igemm_binary_version();

// Layout moves of 2- or 4-byte elements (the bit patterns are copied; zeros are all-zero bits).
// [B][C][X] → [B][X][Cp] with channels C..Cp-1 zero (Cp ≥ C).
void to_channels_last(size_t elem, int64_t B, int64_t C, int64_t X, int64_t Cp, const void* src, void* dst,
                      cudaStream_t stream);
// [B][X][Cp] → [B][C][X] (channels C..Cp-1 dropped).
void to_channels_first(size_t elem, int64_t B, int64_t C, int64_t X, int64_t Cp, const void* src, void* dst,
                       cudaStream_t stream);
// [rows][Cs] → [rows][Cd]: the first min(Cs, Cd) channels copied, the rest zero.
void repack_channels(size_t elem, int64_t rows, int64_t Cs, int64_t Cd, const void* src, void* dst,
                     cudaStream_t stream);
// Weights (K, T·R·S, C) → (C, T·R·S, K), the operand dgrad reads.
void weights_ktrsc_to_ctrsk(size_t elem, int64_t K, int64_t TRS, int64_t C, const void* src, void* dst,
                            cudaStream_t stream);

// The analytic kernels (NCDHW / KCTRS), f32, f64, bf16.
void analytic_fprop(DType t, const Conv3dProblem& p, const void* x, const void* w, void* y, cudaStream_t stream);
void analytic_dgrad(DType t, const Conv3dProblem& p, const void* dy, const void* w, void* dx, cudaStream_t stream);
void analytic_wgrad(DType t, const Conv3dProblem& p, const void* x, const void* dy, void* dw, cudaStream_t stream);
// Threads in each of analytic_wgrad's blocks (one block per weight element): the positions a
// weight sums over (N·Z·P·Q) rounded up to a power of two, from a warp (32) to 256. Small layers
// (layer4 of a 16×16 clip sums over 2 positions) then do not wait on 254 idle threads' tree. On
// the CUDA emulator, which switches between all of a block's threads at each __syncthreads, the
// emulated test "cuda model: tiny ResNet3d loss, ..." (f64 and f32 steps) took 355 s in CI with
// 256 threads every time and 46 s after (docs/perf/ci.md).
int analytic_wgrad_threads(int64_t positions);

}  // namespace mtmap::cuda::conv_detail
