// GEMM on the CPU through OpenBLAS (row-major CBLAS), one call per batch entry.
#include <cblas.h>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {

void gemm(DType t, const GemmParams& p, const void* a, const void* b, void* c) {
  CBLAS_TRANSPOSE ta = p.trans_a ? CblasTrans : CblasNoTrans;
  CBLAS_TRANSPOSE tb = p.trans_b ? CblasTrans : CblasNoTrans;
  for (int64_t i = 0; i < p.batch; ++i) {
    if (t == DType::f32) {
      cblas_sgemm(CblasRowMajor, ta, tb, int(p.m), int(p.n), int(p.k), 1.0f,
                  static_cast<const float*>(a) + i * p.stride_a, int(p.lda),
                  static_cast<const float*>(b) + i * p.stride_b, int(p.ldb), 0.0f,
                  static_cast<float*>(c) + i * p.stride_c, int(p.ldc));
    } else if (t == DType::f64) {
      cblas_dgemm(CblasRowMajor, ta, tb, int(p.m), int(p.n), int(p.k), 1.0,
                  static_cast<const double*>(a) + i * p.stride_a, int(p.lda),
                  static_cast<const double*>(b) + i * p.stride_b, int(p.ldb), 0.0,
                  static_cast<double*>(c) + i * p.stride_c, int(p.ldc));
    } else {
      unsupported("gemm", t);
    }
  }
}

}  // namespace mtmap::cpu
