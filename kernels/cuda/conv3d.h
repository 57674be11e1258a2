#pragma once
// conv3d on CUDA: fprop, dgrad and wgrad (docs/perf/cuda-conv.md). Kernels are leaves: raw device
// pointers, the problem, a workspace and a stream; errors are std exceptions naming the launcher.
//
// Algorithms:
//  - analytic: one thread per output element, direct loops over NCDHW / KCTRS, accumulating in
//    f64 (for f64) or f32; any dtype, any shape. The GPU reference, and the path of f64 and of
//    f32 without TF32.
//  - implicit_gemm: tensor cores (mma.sync, sm_80+) on channels-last data, bf16 or TF32 operands
//    and f32 accumulation; split-K with a fixed-order reduction where the output tiles are too
//    few to fill the GPU. Channel counts that are not multiples of 8 take element-wise loads.
//    fprop, dgrad and wgrad with 16-byte operands run a 3-stage cp.async pipeline with ldmatrix
//    fragment loads (CudaConvConfig::async_copy; wgrad's tiles are [k][row] in shared memory, read
//    with ldmatrix.trans); the element-wise cases stage their loads through registers.
//    Strided dgrad (dilation 1) runs as one GEMM per stride phase over only the taps that reach
//    the phase's positions (CudaConvConfig::dgrad_stride_phases; conv3d_igemm.h).
//  - stem: the kernel of the few-channel, wide-filter stem (the 3-channel 3×7×7 one): one filter
//    row's S·C taps, contiguous in a channels-last input row, are the fastest part of the
//    reduction, rounded up to a multiple of 8 with zero weights (441 → 504 for the r3d stem, where
//    padding C to 8 would make 1176); fprop and wgrad (dgrad's loads do not depend on C, and stem
//    there is implicit_gemm).
//  - automatic: f64 → analytic; f32 → analytic unless allow_tf32, then as bf16; bf16 → stem when
//    C is not a multiple of 8, else implicit_gemm.
// Outputs are overwritten; no algorithm uses atomics, so every result is deterministic for a
// given GPU (the split-K count depends on its SM count).
#include "kernels/cuda/dialect.h"

#include <cstddef>
#include <cstdint>

#include "kernels/common/conv3d_config.h"
#include "kernels/common/conv3d_problem.h"
#include "kernels/common/dtype.h"

namespace mtmap::cuda {

const char* conv_algo_name(CudaConvAlgo a);

// The algorithm `cfg` resolves to for this operator, dtype and problem; throws
// std::invalid_argument naming the reason when the request cannot run (f64 on tensor cores,
// f32 tensor cores without allow_tf32, tensors of 2^31 elements or more for the GEMM path).
CudaConvAlgo conv3d_resolve(ConvOperator op, DType t, const Conv3dProblem& p, const CudaConvConfig& cfg);

// Engine layout: x (N,C,D,H,W), w (K,C,T,R,S), y / dy (N,K,Z,P,Q). The GEMM algorithms move the
// operands to channels-last in the workspace and the result back.
size_t conv3d_workspace_bytes(ConvOperator op, DType t, const Conv3dProblem& p, const CudaConvConfig& cfg);
void conv3d_fprop(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* x, const void* w, void* y,
                  void* workspace, size_t workspace_bytes, cudaStream_t stream);
void conv3d_dgrad(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* dy, const void* w, void* dx,
                  void* workspace, size_t workspace_bytes, cudaStream_t stream);
void conv3d_wgrad(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* x, const void* dy, void* dw,
                  void* workspace, size_t workspace_bytes, cudaStream_t stream);

// Channels-last entry points of the GEMM algorithms (what the benchmark compares with cuDNN's
// NDHWC convolutions): x (N,D,H,W,C), w (K,T,R,S,C), y / dy (N,Z,P,Q,K); bf16, or f32 with
// allow_tf32; cfg.algo implicit_gemm, stem or automatic.
size_t conv3d_cl_workspace_bytes(ConvOperator op, DType t, const Conv3dProblem& p, const CudaConvConfig& cfg);
void conv3d_cl_fprop(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* x, const void* w, void* y,
                     void* workspace, size_t workspace_bytes, cudaStream_t stream);
void conv3d_cl_dgrad(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* dy, const void* w, void* dx,
                     void* workspace, size_t workspace_bytes, cudaStream_t stream);
void conv3d_cl_wgrad(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* x, const void* dy, void* dw,
                     void* workspace, size_t workspace_bytes, cudaStream_t stream);

}  // namespace mtmap::cuda
