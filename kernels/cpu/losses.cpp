// InfoNCE and the spatial-correlation loss on the CPU. Every sum is taken in double in a fixed
// order; parallel loops split over rows whose results never mix, so any thread count gives the
// same bits.
#include "kernels/cpu/losses.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {
namespace {

template <class T>
double dot(const T* a, const T* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * double(b[i]);
  return s;
}

// Logits of row i: out[0] = q_i·k_i / T, out[1 + j] = q_i·queue_j / T. Returns their maximum.
template <class T>
double logits_row(const InfoNceParams& p, const T* q, const T* k, const T* queue, int64_t i, double* out) {
  const T* qi = q + i * p.D;
  out[0] = dot(qi, k + i * p.D, p.D) * p.inv_temperature;
  double mx = out[0];
  for (int64_t j = 0; j < p.K; ++j) {
    out[1 + j] = dot(qi, queue + j * p.D, p.D) * p.inv_temperature;
    mx = std::max(mx, out[1 + j]);
  }
  return mx;
}

void check_info_nce(const InfoNceParams& p) {
  if (p.N < 1 || p.D < 1 || p.K < 0 || !(p.inv_temperature > 0))
    throw std::invalid_argument("cpu info_nce: needs N, D >= 1, K >= 0 and a positive temperature");
}

void check_spatial(const SpatialLossParams& p) {
  if (p.B < 2 || p.M < 3 || p.ldx < p.M)
    throw std::invalid_argument("cpu spatial_loss: needs B >= 2, M >= 3 and ldx >= M");
}

// Columns of x standardised across the batch, stored transposed: zt (M, B). A column whose values
// are all equal (zero standard deviation) is dead: z = 0, sd = 1, no gradient.
struct Standardised {
  std::vector<double> zt, sd;
  std::vector<char> dead;
};

template <class T>
Standardised standardise(const SpatialLossParams& p, const T* x) {
  Standardised s;
  s.zt.assign(size_t(p.M * p.B), 0.0);
  s.sd.assign(size_t(p.M), 1.0);
  s.dead.assign(size_t(p.M), 0);
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < p.M; ++j) {
    double* z = s.zt.data() + j * p.B;
    double mean = 0;
    bool all_equal = true;
    const double first = double(x[j]);
    for (int64_t b = 0; b < p.B; ++b) {
      double v = double(x[b * p.ldx + j]);
      mean += v;
      all_equal = all_equal && v == first;
    }
    mean /= double(p.B);
    double ss = 0;
    for (int64_t b = 0; b < p.B; ++b) {
      z[b] = double(x[b * p.ldx + j]) - mean;
      ss += z[b] * z[b];
    }
    double sd = std::sqrt(ss / double(p.B - 1));
    if (all_equal || sd == 0) {
      s.dead[size_t(j)] = 1;
      std::fill(z, z + p.B, 0.0);
      continue;
    }
    s.sd[size_t(j)] = sd;
    for (int64_t b = 0; b < p.B; ++b) z[b] /= sd;
  }
  return s;
}

// Raw (unclamped) correlations of the strict lower triangle, packed row by row: pair (i, j), j < i,
// at i(i−1)/2 + j.
std::vector<double> lower_correlations(const SpatialLossParams& p, const Standardised& s) {
  std::vector<double> r(static_cast<size_t>(p.M * (p.M - 1) / 2));
  const double inv = 1.0 / double(p.B - 1);
#pragma omp parallel for schedule(dynamic, 8)
  for (int64_t i = 1; i < p.M; ++i)
    for (int64_t j = 0; j < i; ++j)
      r[size_t(i * (i - 1) / 2 + j)] = dot(s.zt.data() + i * p.B, s.zt.data() + j * p.B, p.B) * inv;
  return r;
}

double clamp1(double v) { return std::min(1.0, std::max(-1.0, v)); }

struct PairStats {
  double mean_v = 0, mean_u = 0, norm_v = 0, norm_u = 0, r = 0, loss = 0;
};

template <class T>
PairStats pair_stats(const SpatialLossParams& p, const std::vector<double>& raw, const T* target) {
  PairStats st;
  const double n = double(raw.size());
  if (p.form == SpatialLossForm::absolute) {
    double s = 0;
    for (int64_t i = 1; i < p.M; ++i)
      for (int64_t j = 0; j < i; ++j) s += std::abs(clamp1(raw[size_t(i * (i - 1) / 2 + j)]) - double(target[i * p.M + j]));
    st.loss = s / n;
    return st;
  }
  for (int64_t i = 1; i < p.M; ++i)
    for (int64_t j = 0; j < i; ++j) {
      st.mean_v += clamp1(raw[size_t(i * (i - 1) / 2 + j)]);
      st.mean_u += double(target[i * p.M + j]);
    }
  st.mean_v /= n;
  st.mean_u /= n;
  double svv = 0, suu = 0, svu = 0;
  for (int64_t i = 1; i < p.M; ++i)
    for (int64_t j = 0; j < i; ++j) {
      double v = clamp1(raw[size_t(i * (i - 1) / 2 + j)]) - st.mean_v, u = double(target[i * p.M + j]) - st.mean_u;
      svv += v * v;
      suu += u * u;
      svu += v * u;
    }
  st.norm_v = std::sqrt(svv);
  st.norm_u = std::sqrt(suu);
  st.r = (st.norm_v > 0 && st.norm_u > 0) ? svu / (st.norm_v * st.norm_u) : 0.0;
  st.loss = (1 - st.r) / 2;
  return st;
}

}  // namespace

double info_nce_forward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue, double* lse) {
  check_info_nce(p);
  double total = 0;
  float_switch("info_nce_forward", t, [&](auto tag) {
    using T = decltype(tag);
    std::vector<double> row_loss(static_cast<size_t>(p.N));
#pragma omp parallel
    {
      std::vector<double> logits(static_cast<size_t>(p.K + 1));
#pragma omp for schedule(static)
      for (int64_t i = 0; i < p.N; ++i) {
        double mx = logits_row(p, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(queue), i,
                               logits.data());
        double s = 0;
        for (double l : logits) s += std::exp(l - mx);
        lse[i] = mx + std::log(s);
        row_loss[size_t(i)] = lse[i] - logits[0];
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
    const double scale = grad / double(p.N);
#pragma omp parallel
    {
      std::vector<double> logits(static_cast<size_t>(p.K + 1)), acc(size_t(p.D));
#pragma omp for schedule(static)
      for (int64_t i = 0; i < p.N; ++i) {
        logits_row(p, q, k, queue, i, logits.data());
        // dLoss/dlogit = (softmax − onehot(0)) · grad / N; then the chain through the 1/T scale.
        double d0 = (std::exp(logits[0] - lse[i]) - 1) * scale * p.inv_temperature;
        if (dq) {
          for (int64_t c = 0; c < p.D; ++c) acc[size_t(c)] = d0 * double(k[i * p.D + c]);
          for (int64_t j = 0; j < p.K; ++j) {
            double dj = std::exp(logits[size_t(1 + j)] - lse[i]) * scale * p.inv_temperature;
            const T* qj = queue + j * p.D;
            for (int64_t c = 0; c < p.D; ++c) acc[size_t(c)] += dj * double(qj[c]);
          }
          for (int64_t c = 0; c < p.D; ++c) dq[i * p.D + c] = T(acc[size_t(c)]);
        }
        if (dk)
          for (int64_t c = 0; c < p.D; ++c) dk[i * p.D + c] = T(d0 * double(q[i * p.D + c]));
      }
    }
  });
}

SpatialLossValue spatial_loss_forward(DType t, const SpatialLossParams& p, const void* x, const void* target) {
  check_spatial(p);
  SpatialLossValue out;
  float_switch("spatial_loss_forward", t, [&](auto tag) {
    using T = decltype(tag);
    Standardised s = standardise(p, static_cast<const T*>(x));
    PairStats st = pair_stats(p, lower_correlations(p, s), static_cast<const T*>(target));
    out.loss = st.loss;
    out.r = st.r;
  });
  return out;
}

void spatial_loss_backward(DType t, const SpatialLossParams& p, const void* x_, const void* target_, double grad,
                           void* dx_) {
  check_spatial(p);
  float_switch("spatial_loss_backward", t, [&](auto tag) {
    using T = decltype(tag);
    const T* target = static_cast<const T*>(target_);
    Standardised s = standardise(p, static_cast<const T*>(x_));
    std::vector<double> raw = lower_correlations(p, s);
    PairStats st = pair_stats(p, raw, target);
    // G: dLoss/dR_ij on both (i, j) and (j, i), zero diagonal, zero where the clamp was active.
    const double n = double(raw.size());
    std::vector<double> g(size_t(p.M * p.M), 0.0);
    const bool relative = p.form == SpatialLossForm::relative;
    const bool defined = st.norm_v > 0 && st.norm_u > 0;
    for (int64_t i = 1; i < p.M; ++i)
      for (int64_t j = 0; j < i; ++j) {
        double rv = raw[size_t(i * (i - 1) / 2 + j)];
        if (rv > 1 || rv < -1) continue;
        double u = double(target[i * p.M + j]), d;
        if (relative) {
          if (!defined) continue;
          double vt = rv - st.mean_v, ut = u - st.mean_u;
          d = -0.5 * (ut / st.norm_u - st.r * vt / st.norm_v) / st.norm_v;
        } else {
          d = rv > u ? 1.0 / n : (rv < u ? -1.0 / n : 0.0);
        }
        g[size_t(i * p.M + j)] = g[size_t(j * p.M + i)] = d * grad;
      }
    // dZ = Z·G / (B − 1) (transposed: dzt_k = Σ_j G_kj zt_j / (B − 1)), then per column through the
    // standardisation: dx = (g − mean(g) − z·(zᵀg)/(B − 1)) / σ.
    T* dx = static_cast<T*>(dx_);
    const double inv = 1.0 / double(p.B - 1);
#pragma omp parallel
    {
      std::vector<double> dz(static_cast<size_t>(p.B));
#pragma omp for schedule(static)
      for (int64_t kc = 0; kc < p.M; ++kc) {
        if (s.dead[size_t(kc)]) {
          for (int64_t b = 0; b < p.B; ++b) dx[b * p.M + kc] = T(0);
          continue;
        }
        std::fill(dz.begin(), dz.end(), 0.0);
        for (int64_t j = 0; j < p.M; ++j) {
          double w = g[size_t(kc * p.M + j)];
          if (w == 0) continue;
          const double* zj = s.zt.data() + j * p.B;
          for (int64_t b = 0; b < p.B; ++b) dz[size_t(b)] += w * zj[b];
        }
        const double* z = s.zt.data() + kc * p.B;
        double mg = 0, zg = 0;
        for (int64_t b = 0; b < p.B; ++b) {
          dz[size_t(b)] *= inv;
          mg += dz[size_t(b)];
          zg += z[b] * dz[size_t(b)];
        }
        mg /= double(p.B);
        for (int64_t b = 0; b < p.B; ++b)
          dx[b * p.M + kc] = T((dz[size_t(b)] - mg - z[b] * zg * inv) / s.sd[size_t(kc)]);
      }
    }
  });
}

}  // namespace mtmap::cpu
