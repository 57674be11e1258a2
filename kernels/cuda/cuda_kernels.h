#pragma once
// The CUDA backend's launchers: raw device pointers, a params struct and a stream. Each enqueues
// its kernels on `stream` and returns without synchronising.
// Math kernels take f32, f64 and bf16 (bf16 computes in f32); copy and fill take every dtype.
// An unsupported dtype throws std::invalid_argument naming the launcher.
#include <cstdint>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "kernels/common/dtype.h"
#include "kernels/common/elementwise.h"
#include "kernels/common/gemm.h"
#include "kernels/common/index.h"
#include "kernels/common/index_error.h"
#include "kernels/common/reduce.h"

namespace mtmap::cuda {

void unary(DType t, const UnaryParams& p, const void* in, void* out, cudaStream_t stream);
void binary(DType t, BinaryOp op, const BinaryParams& p, const void* a, const void* b, void* out, cudaStream_t stream);
void compare(DType t, CompareOp op, const BinaryParams& p, const void* a, const void* b, uint8_t* out, cudaStream_t stream);
void where(DType t, const WhereParams& p, const uint8_t* cond, const void* a, const void* b, void* out, cudaStream_t stream);
void copy(DType src_t, DType dst_t, const CopyParams& p, const void* src, void* dst, cudaStream_t stream);
void fill(DType t, int64_t n, double value, void* out, cudaStream_t stream);

void reduce(DType t, const ReduceParams& p, const void* in, void* out, cudaStream_t stream);  // (rows, cols) → (rows)
void row_op(DType t, const RowParams& p, const void* in, void* out, cudaStream_t stream);

// cuBLAS (the one op the engine does not hand-write); f32 runs true fp32 (no TF32), bf16 accumulates
// in fp32. The handle must already be bound to `stream`.
void gemm(DType t, const GemmParams& p, const void* a, const void* b, void* c, cublasHandle_t handle,
          cudaStream_t stream);

// An out-of-range index is read nowhere; the lowest-positioned one is recorded in `errors` (device
// memory, kernels/common/index_error.h) unless an earlier launch holds it, for the caller to
// report after synchronising `stream`.
void index_select(DType t, const IndexSelectParams& p, const void* in, const int64_t* idx, void* out,
                  IndexErrorSlot errors, cudaStream_t stream);
void index_add(DType t, const IndexAddParams& p, const void* src, const int64_t* idx, void* out,
               IndexErrorSlot errors, cudaStream_t stream);
void gather(DType t, const GatherParams& p, const void* in, const int64_t* idx, void* out, IndexErrorSlot errors,
            cudaStream_t stream);
void scatter_add(DType t, const GatherParams& p, const void* src, const int64_t* idx, void* out,
                 IndexErrorSlot errors, cudaStream_t stream);

void uniform(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out, cudaStream_t stream);
void normal(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out, cudaStream_t stream);
// randperm sorts (key, index) pairs and needs scratch: the caller provides at least
// randperm_workspace_bytes(n) bytes of device memory.
size_t randperm_workspace_bytes(int64_t n);
void randperm(int64_t n, uint64_t seed, uint64_t offset, int64_t* out, void* workspace,
              size_t workspace_bytes, cudaStream_t stream);

}  // namespace mtmap::cuda
