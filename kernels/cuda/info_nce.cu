// InfoNCE on CUDA: the logits GEMM in cuBLAS, then the fused row kernels (info_nce_kernels.cuh).
#include <cublas_v2.h>

#include <cstdint>
#include <string>

#include "kernels/cuda/info_nce_kernels.cuh"
#include "kernels/cuda/info_nce.h"

namespace mtmap::cuda {
namespace {

using detail::check_launch;
using namespace loss_detail;

void cublas_check(cublasStatus_t s, const char* launcher, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuda launcher ") + launcher + ": " + what + " failed with cuBLAS status " +
                             std::to_string(int(s)));
}

// Row-major C (rows, cols) = op(A)·op(B) in cuBLAS's column-major terms (see the call sites).
template <class T>
cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T* a,
                    int lda, const T* b, int ldb, T beta, T* c, int ldc) {
  const T one = T(1);
  if constexpr (std::is_same_v<T, float>)
    return cublasSgemm(h, ta, tb, m, n, k, &one, a, lda, b, ldb, &beta, c, ldc);
  else
    return cublasDgemm(h, ta, tb, m, n, k, &one, a, lda, b, ldb, &beta, c, ldc);
}

void check_info_nce(const InfoNceParams& p, const char* name) {
  if (p.N < 1 || p.D < 1 || p.K < 1 || !(p.inv_temperature > 0) || p.N > INT32_MAX || p.K > INT32_MAX ||
      p.D > INT32_MAX)
    throw std::invalid_argument(std::string("cuda launcher ") + name + ": needs 1 <= N, D, K < 2^31 and T > 0");
}

}  // namespace

size_t info_nce_workspace_bytes(DType t, const InfoNceParams& p) {
  return align_up(size_t(p.N * p.K) * dtype_size(t)) + align_up(size_t(p.N) * sizeof(double));
}

void info_nce_forward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue, void* loss,
                      double* lse, void* workspace, cublasHandle_t handle, cudaStream_t stream) {
  const char* name = "info_nce_forward";
  check_info_nce(p, name);
  f32_f64(name, t, [&](auto tag) {
    using T = decltype(tag);
    T* logits = static_cast<T*>(workspace);
    double* row_loss =
        reinterpret_cast<double*>(static_cast<char*>(workspace) + align_up(size_t(p.N * p.K) * sizeof(T)));
    cublas_check(cublasSetStream(handle, stream), name, "cublasSetStream");
    // Row-major logits (N, K) = q (N, D) · queueᵀ: column-major (K, N) = queue^T(K×D) · q(D×N).
    cublas_check(gemm<T>(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(p.K), int(p.N), int(p.D), static_cast<const T*>(queue),
                         int(p.D), static_cast<const T*>(q), int(p.D), T(0), logits, int(p.K)),
                 name, "logits GEMM");
    launch_kernel(info_nce_rows<T>, dim3(unsigned(p.N)), dim3(kReduceThreads), 0, stream, p, static_cast<const T*>(q), static_cast<const T*>(k), logits, lse, row_loss);
    check_launch(name);
    launch_kernel(mean_rows<T>, dim3(1), dim3(kReduceThreads), 0, stream, p.N, row_loss, static_cast<T*>(loss));
    check_launch(name);
  });
}

void info_nce_backward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
                       const double* lse, const void* grad, void* dq, void* dk, void* workspace, cublasHandle_t handle,
                       cudaStream_t stream) {
  const char* name = "info_nce_backward";
  check_info_nce(p, name);
  f32_f64(name, t, [&](auto tag) {
    using T = decltype(tag);
    T* logits = static_cast<T*>(workspace);
    cublas_check(cublasSetStream(handle, stream), name, "cublasSetStream");
    cublas_check(gemm<T>(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(p.K), int(p.N), int(p.D), static_cast<const T*>(queue),
                         int(p.D), static_cast<const T*>(q), int(p.D), T(0), logits, int(p.K)),
                 name, "logits GEMM");
    launch_kernel(info_nce_dlogits<T>, dim3(unsigned(p.N)), dim3(kReduceThreads), 0, stream, p, static_cast<const T*>(q), static_cast<const T*>(k), lse, static_cast<const T*>(grad), logits, static_cast<T*>(dq), static_cast<T*>(dk));
    check_launch(name);
    if (dq)
      // Row-major dq (N, D) += dlogits (N, K) · queue (K, D): column-major (D, N) = queue(D×K) · dlogits(K×N).
      cublas_check(gemm<T>(handle, CUBLAS_OP_N, CUBLAS_OP_N, int(p.D), int(p.N), int(p.K), static_cast<const T*>(queue),
                           int(p.D), logits, int(p.K), T(1), static_cast<T*>(dq), int(p.D)),
                   name, "dq GEMM");
  });
}

}  // namespace mtmap::cuda
