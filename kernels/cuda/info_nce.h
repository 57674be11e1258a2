#pragma once
// CUDA launchers of InfoNCE (f32 and f64; internal sums in double, in a fixed order: no atomics).
// Raw device pointers, a params struct, a cuBLAS handle, a stream; nothing is synchronised.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/common/dtype.h"
#include "kernels/common/info_nce.h"

namespace mtmap::cuda {

// InfoNCE. The logits GEMM q·queueᵀ runs in cuBLAS into the workspace; one fused kernel per row
// then takes the positive logit, the log-sum-exp and the row loss; a single-block kernel sums the
// rows in a fixed order. Backward recomputes the GEMM, turns the logits into dLoss/dlogits in place
// (softmax computed once), and a second GEMM gives dq.
size_t info_nce_workspace_bytes(DType t, const InfoNceParams& p);
// loss: one element of dtype t. lse: N doubles (kept for the backward).
void info_nce_forward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue, void* loss,
                      double* lse, void* workspace, cublasHandle_t handle, cudaStream_t stream);
// grad: one element of dtype t (dLoss) on the device. dq or dk may be null.
void info_nce_backward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
                       const double* lse, const void* grad, void* dq, void* dk, void* workspace, cublasHandle_t handle,
                       cudaStream_t stream);

}  // namespace mtmap::cuda
