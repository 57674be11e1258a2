#include "kernels/cpu/blas_tiles.h"

#include <cblas.h>
#include <omp.h>

namespace mtmap::cpu {
namespace {

// Tile of C: 64 rows × 256 columns (a few hundred KB of operands at the engine's K), enough
// tiles for two threads in every GEMM of a training step that is worth splitting.
constexpr int64_t kTileM = 64, kTileN = 256;

void call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
          int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
void call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

template <class T>
void run(bool ta, bool tb, int64_t batch, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
         int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T beta, T* c, int64_t ldc, int64_t stride_c) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const int64_t tiles_m = (m + kTileM - 1) / kTileM, tiles_n = (n + kTileN - 1) / kTileN;
  const int64_t per_entry = tiles_m * tiles_n, tiles = batch * per_entry;
  auto tile = [&](int64_t t) {
    const int64_t e = t / per_entry, r = (t % per_entry) / tiles_n * kTileM, col = t % tiles_n * kTileN;
    const int64_t rows = m - r < kTileM ? m - r : kTileM, cols = n - col < kTileN ? n - col : kTileN;
    // Row r of op(A) is row r of A, or column r of A when transposed; likewise columns of op(B).
    const T* ae = a + e * stride_a + (ta ? r : r * lda);
    const T* be = b + e * stride_b + (tb ? col * ldb : col);
    call(ta, tb, rows, cols, k, alpha, ae, lda, be, ldb, beta, c + e * stride_c + r * ldc + col, ldc);
  };
  if (omp_in_parallel() || (tiles == 1 && omp_get_max_threads() == 1)) {
    for (int64_t t = 0; t < tiles; ++t) tile(t);
    return;
  }
  // Even one tile goes through a region: inside an active one OpenBLAS cannot spread it over
  // threads of its own.
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) tile(t);
}

}  // namespace

void gemm_tiled(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  run(ta, tb, 1, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0);
}
void gemm_tiled(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
                const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  run(ta, tb, 1, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0);
}
void gemm_tiled_batch(bool ta, bool tb, int64_t batch, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                      int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float* c, int64_t ldc,
                      int64_t stride_c) {
  run(ta, tb, batch, m, n, k, 1.0f, a, lda, stride_a, b, ldb, stride_b, 0.0f, c, ldc, stride_c);
}
void gemm_tiled_batch(bool ta, bool tb, int64_t batch, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
                      int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double* c, int64_t ldc,
                      int64_t stride_c) {
  run(ta, tb, batch, m, n, k, 1.0, a, lda, stride_a, b, ldb, stride_b, 0.0, c, ldc, stride_c);
}

}  // namespace mtmap::cpu
