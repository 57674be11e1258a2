#pragma once
// A batch of row-major GEMMs C[b] = op(A[b]) * op(B[b]), C (m, n), op(A) (m, k), op(B) (k, n).
// trans_a means A is stored (k, m) row-major (so op(A) = A^T); likewise trans_b: B stored (n, k).
#include <cstdint>

namespace mtmap {

struct GemmParams {
  bool trans_a = false, trans_b = false;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;                 // row strides of A, B, C as stored
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // between batch entries (0 = broadcast)
};

}  // namespace mtmap
