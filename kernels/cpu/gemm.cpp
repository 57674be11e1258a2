// GEMM on the CPU: OpenBLAS on a fixed grid of tiles (blas_tiles.h), so that the result does not
// depend on the thread count.
#include "kernels/cpu/blas_tiles.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {

void gemm(DType t, const GemmParams& p, const void* a, const void* b, void* c) {
  // A shared C (stride 0) ends holding the last entry's product, as entries computed in order would.
  const bool shared_c = p.stride_c == 0 && p.batch > 1;
  const int64_t batch = shared_c ? 1 : p.batch, skip = shared_c ? p.batch - 1 : 0;
  if (t == DType::f32) {
    gemm_tiled_batch(p.trans_a, p.trans_b, batch, p.m, p.n, p.k, static_cast<const float*>(a) + skip * p.stride_a,
                     p.lda, p.stride_a, static_cast<const float*>(b) + skip * p.stride_b, p.ldb, p.stride_b,
                     static_cast<float*>(c), p.ldc, p.stride_c);
  } else if (t == DType::f64) {
    gemm_tiled_batch(p.trans_a, p.trans_b, batch, p.m, p.n, p.k, static_cast<const double*>(a) + skip * p.stride_a,
                     p.lda, p.stride_a, static_cast<const double*>(b) + skip * p.stride_b, p.ldb, p.stride_b,
                     static_cast<double*>(c), p.ldc, p.stride_c);
  } else {
    unsupported("gemm", t);
  }
}

}  // namespace mtmap::cpu
