// 3D convolution as vol2col + GEMM (OpenBLAS), one sample at a time so the column buffer stays
// at C·T·R·S × Z·P·Q elements. A 1×1×1 stride-1 unpadded convolution skips vol2col: the input
// already is the column matrix.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/conv3d_gemm.h"

namespace mtmap::cpu {
namespace {

// C (m×n) = alpha · op(A) · op(B) + beta · C, row-major.
void gemm_rm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
             const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
void gemm_rm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
             const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

bool is_pointwise(const Conv3dProblem& p) {
  return p.T == 1 && p.R == 1 && p.S == 1 && p.stride_d == 1 && p.stride_h == 1 && p.stride_w == 1 &&
         p.pad_d == 0 && p.pad_h == 0 && p.pad_w == 0;
}

// The range of output columns q whose input column q·stride − pad + s·dil lies in [0, W).
inline void valid_columns(const Conv3dProblem& p, int64_t s, int64_t* lo, int64_t* hi) {
  int64_t w0 = -p.pad_w + s * p.dil_w;
  int64_t first = w0 >= 0 ? 0 : (-w0 + p.stride_w - 1) / p.stride_w;
  int64_t last = (p.W - 1 - w0) < 0 ? -1 : (p.W - 1 - w0) / p.stride_w;  // inclusive
  *lo = std::min(first, p.Q);
  *hi = std::max(*lo, std::min(last + 1, p.Q));
}

// col[(c,t,r,s), (z,p,q)] = x[c, z·sd − pd + t·dd, …] (0 outside the volume). x is one sample.
// Rows are independent: spread over threads.
template <class T>
void vol2col(const Conv3dProblem& p, const T* x, T* col) {
  const int64_t zpq = p.Z * p.P * p.Q, rows = p.C * p.T * p.R * p.S;
#pragma omp parallel for schedule(static)
  for (int64_t row_index = 0; row_index < rows; ++row_index) {
    int64_t s = row_index % p.S, r = (row_index / p.S) % p.R, t = (row_index / (p.S * p.R)) % p.T,
            c = row_index / (p.S * p.R * p.T);
    T* row = col + row_index * zpq;
    int64_t lo, hi;
    valid_columns(p, s, &lo, &hi);
    const int64_t w0 = -p.pad_w + s * p.dil_w;
    for (int64_t z = 0; z < p.Z; ++z) {
      int64_t d = z * p.stride_d - p.pad_d + t * p.dil_d;
      T* out = row + z * p.P * p.Q;
      if (d < 0 || d >= p.D) {
        std::memset(out, 0, sizeof(T) * size_t(p.P * p.Q));
        continue;
      }
      for (int64_t q0 = 0; q0 < p.P; ++q0) {
        int64_t h = q0 * p.stride_h - p.pad_h + r * p.dil_h;
        T* o = out + q0 * p.Q;
        if (h < 0 || h >= p.H) {
          std::memset(o, 0, sizeof(T) * size_t(p.Q));
          continue;
        }
        const T* in = x + ((c * p.D + d) * p.H + h) * p.W + w0;
        for (int64_t q1 = 0; q1 < lo; ++q1) o[q1] = T(0);
        if (p.stride_w == 1)
          std::memcpy(o + lo, in + lo, sizeof(T) * size_t(hi - lo));
        else
          for (int64_t q1 = lo; q1 < hi; ++q1) o[q1] = in[q1 * p.stride_w];
        for (int64_t q1 = hi; q1 < p.Q; ++q1) o[q1] = T(0);
      }
    }
  }
}

// The adjoint of vol2col: dx[c, d, h, w] += col[…] over every tap that read it. dx is one sample,
// zeroed by the caller. Each thread owns whole channels and visits their taps in a fixed order,
// so the sums do not depend on the thread count.
template <class T>
void col2vol(const Conv3dProblem& p, const T* col, T* dx) {
  const int64_t zpq = p.Z * p.P * p.Q;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < p.C; ++c)
    for (int64_t t = 0; t < p.T; ++t)
      for (int64_t r = 0; r < p.R; ++r)
        for (int64_t s = 0; s < p.S; ++s) {
          const T* row = col + (((c * p.T + t) * p.R + r) * p.S + s) * zpq;
          int64_t lo, hi;
          valid_columns(p, s, &lo, &hi);
          const int64_t w0 = -p.pad_w + s * p.dil_w;
          for (int64_t z = 0; z < p.Z; ++z) {
            int64_t d = z * p.stride_d - p.pad_d + t * p.dil_d;
            if (d < 0 || d >= p.D) continue;
            for (int64_t q0 = 0; q0 < p.P; ++q0) {
              int64_t h = q0 * p.stride_h - p.pad_h + r * p.dil_h;
              if (h < 0 || h >= p.H) continue;
              const T* in = row + (z * p.P + q0) * p.Q;
              T* out = dx + ((c * p.D + d) * p.H + h) * p.W + w0;
              if (p.stride_w == 1)
                for (int64_t q1 = lo; q1 < hi; ++q1) out[q1] += in[q1];
              else
                for (int64_t q1 = lo; q1 < hi; ++q1) out[q1 * p.stride_w] += in[q1];
            }
          }
        }
}

// Sample n's column matrix (C·T·R·S × Z·P·Q): x[n] itself for a pointwise problem, else
// vol2col into `col` (sized once by the caller's first call).
template <class T>
const T* columns(const Conv3dProblem& p, const T* x, int64_t n, std::vector<T>& col) {
  const T* xn = x + n * p.C * p.D * p.H * p.W;
  if (is_pointwise(p)) return xn;
  col.resize(size_t(p.C * p.filter_volume() * p.Z * p.P * p.Q));
  vol2col(p, xn, col.data());
  return col.data();
}

}  // namespace

template <class T>
void fprop_gemm(const Conv3dProblem& p, const T* x, const T* w, T* y) {
  const int64_t zpq = p.Z * p.P * p.Q, ctrs = p.C * p.filter_volume();
  std::vector<T> col;
  for (int64_t n = 0; n < p.N; ++n) {
    const T* b = columns(p, x, n, col);
    gemm_rm(false, false, p.K, zpq, ctrs, T(1), w, ctrs, b, zpq, T(0), y + n * p.K * zpq, zpq);
  }
}

template <class T>
void dgrad_gemm(const Conv3dProblem& p, const T* dy, const T* w, T* dx) {
  const int64_t zpq = p.Z * p.P * p.Q, ctrs = p.C * p.filter_volume(), dhw = p.D * p.H * p.W;
  const bool pointwise = is_pointwise(p);
  std::vector<T> col(pointwise ? 0 : size_t(ctrs * zpq));
  for (int64_t n = 0; n < p.N; ++n) {
    T* dxn = dx + n * p.C * dhw;
    const T* dyn = dy + n * p.K * zpq;
    if (pointwise) {  // dx[n] (C × DHW) = Wᵀ (C × K) · dy[n] (K × ZPQ), ZPQ = DHW
      gemm_rm(true, false, p.C, zpq, p.K, T(1), w, ctrs, dyn, zpq, T(0), dxn, zpq);
      continue;
    }
    gemm_rm(true, false, ctrs, zpq, p.K, T(1), w, ctrs, dyn, zpq, T(0), col.data(), zpq);
    std::memset(dxn, 0, sizeof(T) * size_t(p.C * dhw));
    col2vol(p, col.data(), dxn);
  }
}

template <class T>
void wgrad_gemm(const Conv3dProblem& p, const T* x, const T* dy, T* dw) {
  const int64_t zpq = p.Z * p.P * p.Q, ctrs = p.C * p.filter_volume();
  std::vector<T> col;
  for (int64_t n = 0; n < p.N; ++n) {
    const T* b = columns(p, x, n, col);
    // dw (K × CTRS) += dy[n] (K × ZPQ) · colᵀ (ZPQ × CTRS); samples in order (deterministic).
    gemm_rm(false, true, p.K, ctrs, zpq, T(1), dy + n * p.K * zpq, zpq, b, zpq, n == 0 ? T(0) : T(1), dw, ctrs);
  }
  if (p.N == 0) std::memset(dw, 0, sizeof(T) * size_t(p.weight_elements()));
}

template void fprop_gemm(const Conv3dProblem&, const float*, const float*, float*);
template void dgrad_gemm(const Conv3dProblem&, const float*, const float*, float*);
template void wgrad_gemm(const Conv3dProblem&, const float*, const float*, float*);
template void fprop_gemm(const Conv3dProblem&, const double*, const double*, double*);
template void dgrad_gemm(const Conv3dProblem&, const double*, const double*, double*);
template void wgrad_gemm(const Conv3dProblem&, const double*, const double*, double*);

}  // namespace mtmap::cpu
