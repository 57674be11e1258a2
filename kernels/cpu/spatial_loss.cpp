// The spatial-correlation loss on the CPU. Every sum is taken in double in a fixed order; parallel
// loops split over rows whose results never mix, so any thread count gives the same bits.
#include "kernels/cpu/spatial_loss.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/common/gemm.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {
namespace {

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
// at i(i−1)/2 + j. R = Zᵀ·Z / (B − 1) as one double GEMM (zt is Zᵀ, (M, B)).
std::vector<double> lower_correlations(const SpatialLossParams& p, const Standardised& s) {
  std::vector<double> full(static_cast<size_t>(p.M * p.M));
  GemmParams g;
  g.trans_b = true;
  g.m = p.M, g.n = p.M, g.k = p.B;
  g.lda = p.B, g.ldb = p.B, g.ldc = p.M;
  gemm(DType::f64, g, s.zt.data(), s.zt.data(), full.data());
  std::vector<double> r(static_cast<size_t>(p.M * (p.M - 1) / 2));
  const double inv = 1.0 / double(p.B - 1);
  for (int64_t i = 1; i < p.M; ++i)
    for (int64_t j = 0; j < i; ++j) r[size_t(i * (i - 1) / 2 + j)] = full[size_t(i * p.M + j)] * inv;
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
      for (int64_t j = 0; j < i; ++j)
        s += std::abs(clamp1(raw[size_t(i * (i - 1) / 2 + j)]) - double(target[i * p.M + j]));
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
    // dZᵀ (M, B) = G (M, M) · Zᵀ (M, B): one double GEMM.
    std::vector<double> dzt(static_cast<size_t>(p.M * p.B));
    GemmParams gp;
    gp.m = p.M, gp.n = p.B, gp.k = p.M;
    gp.lda = p.M, gp.ldb = p.B, gp.ldc = p.B;
    gemm(DType::f64, gp, g.data(), s.zt.data(), dzt.data());
#pragma omp parallel
    {
#pragma omp for schedule(static)
      for (int64_t kc = 0; kc < p.M; ++kc) {
        if (s.dead[size_t(kc)]) {
          for (int64_t b = 0; b < p.B; ++b) dx[b * p.M + kc] = T(0);
          continue;
        }
        double* dz = dzt.data() + kc * p.B;
        const double* z = s.zt.data() + kc * p.B;
        double mg = 0, zg = 0;
        for (int64_t b = 0; b < p.B; ++b) {
          dz[b] *= inv;
          mg += dz[b];
          zg += z[b] * dz[b];
        }
        mg /= double(p.B);
        for (int64_t b = 0; b < p.B; ++b) dx[b * p.M + kc] = T((dz[b] - mg - z[b] * zg * inv) / s.sd[size_t(kc)]);
      }
    }
  });
}

}  // namespace mtmap::cpu
