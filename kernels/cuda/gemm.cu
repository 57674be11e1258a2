// Batched row-major GEMM through cublasGemmStridedBatchedEx. cuBLAS is column-major, and a
// row-major (r, c) matrix is the column-major (c, r) matrix of its transpose, so we ask cuBLAS for
// C^T = op(B)^T op(A)^T: operands swapped, m and n swapped, the transpose flags kept per operand.
// f32 computes in true fp32 (CUBLAS_COMPUTE_32F never uses TF32 unless the handle's math mode
// allows it, and the context sets the default math mode); bf16 in/out computes in fp32; f64 in
// fp64. A batch stride of 0 broadcasts that operand over the batch.
#include <climits>
#include <string>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda {
namespace {

int as_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX)
    throw std::invalid_argument(std::string("cuda launcher gemm: ") + what + " = " + std::to_string(v) +
                                " does not fit cuBLAS's 32-bit int");
  return int(v);
}

}  // namespace

void gemm(DType t, const GemmParams& p, const void* a, const void* b, void* c, cublasHandle_t handle,
          cudaStream_t stream) {
  if (p.batch == 0 || p.m == 0 || p.n == 0) return;
  if (p.k == 0) {
    // An empty inner product is 0. The engine's C is contiguous (ldc = n, stride_c = m n).
    if (p.ldc != p.n || (p.batch > 1 && p.stride_c != p.m * p.n))
      throw std::invalid_argument("cuda launcher gemm: k = 0 needs a contiguous C");
    detail::check_call(cudaMemsetAsync(c, 0, size_t(p.batch * p.m * p.n) * dtype_size(t), stream), "gemm",
                       "cudaMemsetAsync");
    return;
  }
  cudaDataType_t type;
  cublasComputeType_t compute;
  float alpha_f = 1.0f, beta_f = 0.0f;
  double alpha_d = 1.0, beta_d = 0.0;
  const void *alpha = &alpha_f, *beta = &beta_f;
  switch (t) {
    case DType::f32: type = CUDA_R_32F, compute = CUBLAS_COMPUTE_32F; break;
    case DType::bf16: type = CUDA_R_16BF, compute = CUBLAS_COMPUTE_32F; break;
    case DType::f64:
      type = CUDA_R_64F, compute = CUBLAS_COMPUTE_64F;
      alpha = &alpha_d, beta = &beta_d;
      break;
    default: detail::unsupported("gemm", t);
  }
  cudaStream_t bound = nullptr;
  if (cublasGetStream(handle, &bound) != CUBLAS_STATUS_SUCCESS || bound != stream)
    throw std::invalid_argument("cuda launcher gemm: the cuBLAS handle is not bound to the given stream");
  // Column-major view: C^T (n, m) = op(B)^T (n, k) · op(A)^T (k, m).
  cublasOperation_t op_b = p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_a = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasStatus_t st = cublasGemmStridedBatchedEx(
      handle, op_b, op_a, as_int(p.n, "n"), as_int(p.m, "m"), as_int(p.k, "k"), alpha, b, type, as_int(p.ldb, "ldb"),
      (long long)p.stride_b, a, type, as_int(p.lda, "lda"), (long long)p.stride_a, beta, c, type, as_int(p.ldc, "ldc"),
      (long long)p.stride_c, as_int(p.batch, "batch"), compute, CUBLAS_GEMM_DEFAULT);
  if (st != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuda launcher gemm: cublasGemmStridedBatchedEx failed with ") +
                             cublasGetStatusName(st) + " (m " + std::to_string(p.m) + ", n " + std::to_string(p.n) +
                             ", k " + std::to_string(p.k) + ", batch " + std::to_string(p.batch) + ", " +
                             dtype_name(t) + ")");
}

}  // namespace mtmap::cuda
