// InfoNCE on the CPU. Every sum is taken in double in a fixed order; parallel loops split over
// rows whose results never mix, so any thread count gives the same bits.
#include "kernels/cpu/info_nce.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/common/gemm.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {
namespace {

template <class T>
double dot(const T* a, const T* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * double(b[i]);
  return s;
}

void check_info_nce(const InfoNceParams& p) {
  if (p.N < 1 || p.D < 1 || p.K < 1 || !(p.inv_temperature > 0))
    throw std::invalid_argument("cpu info_nce: needs N, D, K >= 1 and a positive temperature");
}

}  // namespace

// InfoNCE runs in chunks of rows: the negatives' logits of a chunk come from one GEMM (OpenBLAS,
// in the input's precision), the positive logit, log-sum-exp and gradients are taken per row in
// double. A chunk's logits (kChunk × K) are the only large buffer; the softmax is never stored.
constexpr int64_t kChunk = 64;

template <class T>
void chunk_logits(DType t, const InfoNceParams& p, const T* q, const T* queue, int64_t i0, int64_t rows, T* out) {
  GemmParams g;
  g.trans_b = true;
  g.m = rows, g.n = p.K, g.k = p.D;
  g.lda = p.D, g.ldb = p.D, g.ldc = p.K;
  gemm(t, g, q + i0 * p.D, queue, out);
}

double info_nce_forward(DType t, const InfoNceParams& p, const void* q_, const void* k_, const void* queue_,
                        double* lse) {
  check_info_nce(p);
  double total = 0;
  float_switch("info_nce_forward", t, [&](auto tag) {
    using T = decltype(tag);
    const T *q = static_cast<const T*>(q_), *k = static_cast<const T*>(k_), *queue = static_cast<const T*>(queue_);
    std::vector<double> row_loss(static_cast<size_t>(p.N));
    std::vector<T> logits(size_t(std::min(kChunk, p.N) * p.K));
    for (int64_t i0 = 0; i0 < p.N; i0 += kChunk) {
      const int64_t rows = std::min(kChunk, p.N - i0);
      chunk_logits(t, p, q, queue, i0, rows, logits.data());
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        const T* l = logits.data() + r * p.K;
        const double l0 = dot(q + i * p.D, k + i * p.D, p.D) * p.inv_temperature;
        double mx = l0;
        for (int64_t j = 0; j < p.K; ++j) mx = std::max(mx, double(l[j]) * p.inv_temperature);
        double s = std::exp(l0 - mx);
        for (int64_t j = 0; j < p.K; ++j) s += std::exp(double(l[j]) * p.inv_temperature - mx);
        lse[i] = mx + std::log(s);
        row_loss[size_t(i)] = lse[i] - l0;
      }
    }
    for (double l : row_loss) total += l;
  });
  return total / double(p.N);
}

void info_nce_backward(DType t, const InfoNceParams& p, const void* q_, const void* k_, const void* queue_,
                       const double* lse, double grad, void* dq_, void* dk_) {
  check_info_nce(p);
  float_switch("info_nce_backward", t, [&](auto tag) {
    using T = decltype(tag);
    const T *q = static_cast<const T*>(q_), *k = static_cast<const T*>(k_), *queue = static_cast<const T*>(queue_);
    T *dq = static_cast<T*>(dq_), *dk = static_cast<T*>(dk_);
    // dLoss/dlogit = (softmax − onehot(0)) · grad / N, times 1/T for the scale inside the logits.
    const double scale = grad / double(p.N) * p.inv_temperature;
    std::vector<T> logits(size_t(std::min(kChunk, p.N) * p.K));
    std::vector<T> dq_neg(dq ? size_t(std::min(kChunk, p.N) * p.D) : 0);
    for (int64_t i0 = 0; i0 < p.N; i0 += kChunk) {
      const int64_t rows = std::min(kChunk, p.N - i0);
      chunk_logits(t, p, q, queue, i0, rows, logits.data());
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        T* l = logits.data() + r * p.K;
        for (int64_t j = 0; j < p.K; ++j) l[j] = T(std::exp(double(l[j]) * p.inv_temperature - lse[i0 + r]) * scale);
      }
      if (dq) {
        GemmParams g;
        g.m = rows, g.n = p.D, g.k = p.K;
        g.lda = p.K, g.ldb = p.D, g.ldc = p.D;
        gemm(t, g, logits.data(), queue, dq_neg.data());
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        const double l0 = dot(q + i * p.D, k + i * p.D, p.D) * p.inv_temperature;
        const double d0 = (std::exp(l0 - lse[i]) - 1) * scale;
        for (int64_t c = 0; c < p.D; ++c) {
          if (dq) dq[i * p.D + c] = T(d0 * double(k[i * p.D + c]) + double(dq_neg[size_t(r * p.D + c)]));
          if (dk) dk[i * p.D + c] = T(d0 * double(q[i * p.D + c]));
        }
      }
    }
  });
}

}  // namespace mtmap::cpu
