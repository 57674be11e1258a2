// 3D convolution as vol2col + GEMM (OpenBLAS), one GEMM per sample over batches of samples
// whose column matrices (C·T·R·S × Z·P·Q elements each) take at most about 16 MB. A 1×1×1
// stride-1 unpadded convolution skips vol2col: the input already is the column matrix.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/blas_tiles.h"
#include "kernels/cpu/conv3d_gemm.h"

namespace mtmap::cpu {
namespace {

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

// col[(c,t,r,s), (z,p,q)] = x[c, z·sd − pd + t·dd, …] (0 outside the volume), for `samples`
// consecutive samples of x into consecutive column matrices. Rows are independent: one parallel
// region spreads every sample's rows over the threads.
template <class T>
void vol2col(const Conv3dProblem& p, const T* x, T* col, int64_t samples) {
  const int64_t zpq = p.Z * p.P * p.Q, rows = p.C * p.T * p.R * p.S;
#pragma omp parallel for schedule(static)
  for (int64_t job = 0; job < samples * rows; ++job) {
    const int64_t row_index = job % rows, n = job / rows;
    int64_t s = row_index % p.S, r = (row_index / p.S) % p.R, t = (row_index / (p.S * p.R)) % p.T,
            c = row_index / (p.S * p.R * p.T);
    T* row = col + job * zpq;
    const T* x_n = x + n * p.C * p.D * p.H * p.W;
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
        const T* in = x_n + ((c * p.D + d) * p.H + h) * p.W + w0;
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
void col2vol(const Conv3dProblem& p, const T* col, T* dx, bool parallel) {
  const int64_t zpq = p.Z * p.P * p.Q;
#pragma omp parallel for schedule(static) if (parallel)
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

// Samples per batch of column matrices: at most about 16 MB of them (one matrix even if larger).
template <class T>
int64_t column_chunk(const Conv3dProblem& p) {
  const int64_t bytes = p.C * p.filter_volume() * p.Z * p.P * p.Q * int64_t(sizeof(T));
  return std::clamp<int64_t>((int64_t(16) << 20) / std::max<int64_t>(bytes, 1), 1, std::max<int64_t>(p.N, 1));
}

// Runs body(i) for i in [0, count): spread over the threads, each sample's GEMM on one
// thread (its tiles one after another), when there are samples enough for every thread; otherwise
// one after another, each GEMM's tiles spread over the threads. Either way each sample's GEMM is
// the same grid of single-threaded OpenBLAS calls (blas_tiles.h): the same sums for any thread
// count.
template <class Body>
void per_sample(int64_t count, Body body) {
  if (count >= int64_t(omp_get_max_threads()) && omp_get_max_threads() > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) body(i, false);
  } else {
    for (int64_t i = 0; i < count; ++i) body(i, true);
  }
}

// Calls body(n0, samples, columns) for each batch of samples, with the batch's column matrices
// (ctrs × zpq each, one after another) made by vol2col in one parallel region; a pointwise
// problem's columns are its input itself, in one batch.
template <class T, class Body>
void column_batches(const Conv3dProblem& p, const T* x, Body body) {
  const int64_t in_sample = p.C * p.D * p.H * p.W;
  if (is_pointwise(p)) return body(int64_t(0), p.N, x);
  const int64_t chunk = column_chunk<T>(p);
  std::vector<T> col(size_t(chunk * p.C * p.filter_volume() * p.Z * p.P * p.Q));
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    const int64_t samples = std::min(chunk, p.N - n0);
    vol2col(p, x + n0 * in_sample, col.data(), samples);
    body(n0, samples, static_cast<const T*>(col.data()));
  }
}

}  // namespace

// The samples go in batches whose column matrices are made in one parallel region (a region per
// sample cost tens of microseconds each with passive OpenMP waiting, as training runs).
template <class T>
void fprop_gemm(const Conv3dProblem& p, const T* x, const T* w, T* y) {
  const int64_t zpq = p.Z * p.P * p.Q, ctrs = p.C * p.filter_volume();
  column_batches(p, x, [&](int64_t n0, int64_t samples, const T* cols) {
    per_sample(samples, [&](int64_t i, bool) {
      gemm_tiled(false, false, p.K, zpq, ctrs, T(1), w, ctrs, cols + i * ctrs * zpq, zpq, T(0), y + (n0 + i) * p.K * zpq,
              zpq);
    });
  });
}

template <class T>
void dgrad_gemm(const Conv3dProblem& p, const T* dy, const T* w, T* dx) {
  const int64_t zpq = p.Z * p.P * p.Q, ctrs = p.C * p.filter_volume(), dhw = p.D * p.H * p.W;
  const bool pointwise = is_pointwise(p);
  const int64_t chunk = pointwise ? std::max<int64_t>(p.N, 1) : column_chunk<T>(p);
  std::vector<T> col(pointwise ? 0 : size_t(chunk * ctrs * zpq));
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    const int64_t samples = std::min(chunk, p.N - n0);
    per_sample(samples, [&](int64_t i, bool alone) {
      T* dxn = dx + (n0 + i) * p.C * dhw;
      const T* dyn = dy + (n0 + i) * p.K * zpq;
      if (pointwise) {  // dx[n] (C × DHW) = Wᵀ (C × K) · dy[n] (K × ZPQ), ZPQ = DHW
        gemm_tiled(true, false, p.C, zpq, p.K, T(1), w, ctrs, dyn, zpq, T(0), dxn, zpq);
        return;
      }
      T* coln = col.data() + i * ctrs * zpq;
      gemm_tiled(true, false, ctrs, zpq, p.K, T(1), w, ctrs, dyn, zpq, T(0), coln, zpq);
      std::memset(dxn, 0, sizeof(T) * size_t(p.C * dhw));
      col2vol(p, coln, dxn, alone);
    });
  }
}

template <class T>
void wgrad_gemm(const Conv3dProblem& p, const T* x, const T* dy, T* dw) {
  const int64_t zpq = p.Z * p.P * p.Q, ctrs = p.C * p.filter_volume();
  column_batches(p, x, [&](int64_t n0, int64_t samples, const T* cols) {
    for (int64_t i = 0; i < samples; ++i) {
      const int64_t n = n0 + i;
      // dw (K × CTRS) += dy[n] (K × ZPQ) · colᵀ (ZPQ × CTRS); samples in order (deterministic).
      gemm_tiled(false, true, p.K, ctrs, zpq, T(1), dy + n * p.K * zpq, zpq, cols + i * ctrs * zpq, zpq,
              n == 0 ? T(0) : T(1), dw, ctrs);
    }
  });
  if (p.N == 0) std::memset(dw, 0, sizeof(T) * size_t(p.weight_elements()));
}

template void fprop_gemm(const Conv3dProblem&, const float*, const float*, float*);
template void dgrad_gemm(const Conv3dProblem&, const float*, const float*, float*);
template void wgrad_gemm(const Conv3dProblem&, const float*, const float*, float*);
template void fprop_gemm(const Conv3dProblem&, const double*, const double*, double*);
template void dgrad_gemm(const Conv3dProblem&, const double*, const double*, double*);
template void wgrad_gemm(const Conv3dProblem&, const double*, const double*, double*);

}  // namespace mtmap::cpu
