// The cuBLAS reference model (cublas.h): column-major C = α·op(A)·op(B) + β·C with host loops.
#include "tests/cuda_emu/emulator/cublas.h"

#include <algorithm>
#include <cstdint>

#include "kernels/common/bf16.h"

struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {

double read(const void* p, cudaDataType_t t, int64_t i) {
  switch (t) {
    case CUDA_R_32F: return static_cast<const float*>(p)[i];
    case CUDA_R_64F: return static_cast<const double*>(p)[i];
    case CUDA_R_16BF: return mtmap::bf16_to_float(static_cast<const mtmap::BFloat16*>(p)[i]);
  }
  return 0;
}
void write(void* p, cudaDataType_t t, int64_t i, double v) {
  switch (t) {
    case CUDA_R_32F: static_cast<float*>(p)[i] = float(v); break;
    case CUDA_R_64F: static_cast<double*>(p)[i] = v; break;
    case CUDA_R_16BF: static_cast<mtmap::BFloat16*>(p)[i] = mtmap::float_to_bf16(float(v)); break;
  }
}

// op(X)[r][c] of a column-major X with leading dimension ld.
int64_t at(cublasOperation_t op, int64_t r, int64_t c, int ld) { return op == CUBLAS_OP_N ? r + c * ld : c + r * ld; }

cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, double alpha,
                    const void* a, cudaDataType_t at_, int lda, long long sa, const void* b, cudaDataType_t bt, int ldb,
                    long long sb, double beta, void* c, cudaDataType_t ct, int ldc, long long sc, int batch) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (m < 0 || n < 0 || k < 0 || batch < 0 || ldc < std::max(1, m) ||
      lda < std::max(1, ta == CUBLAS_OP_N ? m : k) || ldb < std::max(1, tb == CUBLAS_OP_N ? k : n))
    return CUBLAS_STATUS_INVALID_VALUE;
  for (int64_t p = 0; p < batch; ++p)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < m; ++i) {
        double s = 0;
        for (int64_t l = 0; l < k; ++l)
          s += read(a, at_, p * sa + at(ta, i, l, lda)) * read(b, bt, p * sb + at(tb, l, j, ldb));
        const int64_t ci = p * sc + i + j * ldc;
        // β = 0 does not read C (it may hold NaN), as cuBLAS documents.
        write(c, ct, ci, alpha * s + (beta == 0 ? 0.0 : beta * read(c, ct, ci)));
      }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* h) {
  *h = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetStream(cublasHandle_t h, cudaStream_t* s) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  *s = h->stream;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->math = m;
  return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float* alpha, const float* a, int lda, const float* b, int ldb, const float* beta,
                           float* c, int ldc) {
  return gemm(h, ta, tb, m, n, k, *alpha, a, CUDA_R_32F, lda, 0, b, CUDA_R_32F, ldb, 0, *beta, c, CUDA_R_32F, ldc, 0, 1);
}
cublasStatus_t cublasDgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const double* alpha, const double* a, int lda, const double* b, int ldb,
                           const double* beta, double* c, int ldc) {
  return gemm(h, ta, tb, m, n, k, *alpha, a, CUDA_R_64F, lda, 0, b, CUDA_R_64F, ldb, 0, *beta, c, CUDA_R_64F, ldc, 0, 1);
}
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                          int k, const void* alpha, const void* a, cudaDataType_t at_, int lda,
                                          long long stride_a, const void* b, cudaDataType_t bt, int ldb,
                                          long long stride_b, const void* beta, void* c, cudaDataType_t ct, int ldc,
                                          long long stride_c, int batch, cublasComputeType_t compute, cublasGemmAlgo_t) {
  // α and β are in the compute type: double for CUBLAS_COMPUTE_64F, float otherwise.
  const bool f64 = compute == CUBLAS_COMPUTE_64F;
  if (f64 != (ct == CUDA_R_64F)) return CUBLAS_STATUS_NOT_SUPPORTED;
  const double al = f64 ? *static_cast<const double*>(alpha) : *static_cast<const float*>(alpha);
  const double be = f64 ? *static_cast<const double*>(beta) : *static_cast<const float*>(beta);
  return gemm(h, ta, tb, m, n, k, al, a, at_, lda, stride_a, b, bt, ldb, stride_b, be, c, ct, ldc, stride_c, batch);
}
