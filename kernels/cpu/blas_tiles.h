#pragma once
// Every CPU GEMM of the engine goes through here: OpenBLAS, on a fixed grid of tiles of C, each
// tile one single-threaded OpenBLAS call, the tiles spread over the OpenMP threads.
//
// Why: OpenBLAS 0.3.21's results depend on how it splits a GEMM. On Zen 3 (its Haswell/Zen
// kernels) the same 192×160×176 sgemm differs in 2,718 of 33,792 elements between 1 and 2
// threads, and a 16-row panel of it differs from the same rows of the whole product (the kernel
// treats a tile's edges differently). So OpenBLAS must never choose the split: the grid here
// depends only on the shape, and OpenBLAS runs single-threaded in each tile (inside an active
// OpenMP region, or with one OpenMP thread, the OpenMP build of OpenBLAS uses one thread). The
// same bits for any thread count, as the engine promises (tests/test_context.cpp).
#include <cstdint>

namespace mtmap::cpu {

// C (m×n, row stride ldc) = alpha · op(A) · op(B) + beta · C, row-major like CBLAS's RowMajor.
// Called inside a parallel region, the tiles run one after another on the calling thread.
void gemm_tiled(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm_tiled(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

// `batch` GEMMs (entries `stride_*` elements apart; 0 broadcasts), all tiles in one parallel region.
void gemm_tiled_batch(bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n, int64_t k, const float* a,
                      int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float* c,
                      int64_t ldc, int64_t stride_c);
void gemm_tiled_batch(bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n, int64_t k, const double* a,
                      int64_t lda, int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double* c,
                      int64_t ldc, int64_t stride_c);

}  // namespace mtmap::cpu
