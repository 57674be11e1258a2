// Batch norm on the CPU over an (N, C, S) view. Statistics and gradient sums accumulate in
// double, each channel by one thread in a fixed order (8 interleaved partial sums per row, added
// in a fixed order): deterministic for any thread count.
#include <cmath>
#include <vector>

#include "kernels/cpu/dtype_switch.h"
#include "kernels/cpu/batch_norm.h"

namespace mtmap::cpu {
namespace {

// Σ f(i) for i in [0, n) as 8 interleaved partial sums (independent chains the compiler can keep
// in vector registers; one chain of dependent double adds would wait on every add's latency).
template <class F>
double lane_sum(int64_t n, F f) {
  double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) part[j] += f(i + j);
  for (; i < n; ++i) part[i % 8] += f(i);
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

}  // namespace

void bn_stats(DType t, const BatchNormShape& s, const void* x_, double* mean, double* var) {
  float_switch("bn_stats", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(x_);
    const double count = double(s.N * s.S);
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < s.C; ++c) {
      double sum = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const T* row = x + (n * s.C + c) * s.S;
        sum += lane_sum(s.S, [row](int64_t i) { return double(row[i]); });
      }
      const double m = sum / count;
      double sq = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const T* row = x + (n * s.C + c) * s.S;
        sq += lane_sum(s.S, [row, m](int64_t i) {
          const double d = double(row[i]) - m;
          return d * d;
        });
      }
      mean[c] = m;
      var[c] = sq / count;
    }
  });
}

void bn_apply(DType t, const BatchNormShape& s, const void* x_, const double* mean, const double* invstd,
              const void* gamma_, const void* beta_, bool relu, void* y_) {
  float_switch("bn_apply", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(x_);
    const T* gamma = static_cast<const T*>(gamma_);
    const T* beta = static_cast<const T*>(beta_);
    T* y = static_cast<T*>(y_);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t c = 0; c < s.C; ++c) {
        // y = a·x + b with a = γ·invstd, b = β − a·μ: one multiply-add per element.
        T a = T(double(gamma[c]) * invstd[c]);
        T b = T(double(beta[c]) - double(gamma[c]) * invstd[c] * mean[c]);
        const T* in = x + (n * s.C + c) * s.S;
        T* out = y + (n * s.C + c) * s.S;
        if (relu)
          for (int64_t i = 0; i < s.S; ++i) {
            T v = a * in[i] + b;
            out[i] = v > T(0) ? v : T(0);
          }
        else
          for (int64_t i = 0; i < s.S; ++i) out[i] = a * in[i] + b;
      }
  });
}

void bn_backward(DType t, const BatchNormShape& s, bool training, const void* x_, const void* dy_,
                 const double* mean, const double* invstd, const void* gamma_, void* dx_, void* dgamma_,
                 void* dbeta_) {
  float_switch("bn_backward", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(x_);
    const T* dy = static_cast<const T*>(dy_);
    const T* gamma = static_cast<const T*>(gamma_);
    T* dx = static_cast<T*>(dx_);
    const double count = double(s.N * s.S);
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < s.C; ++c) {
      // Σ dy and Σ dy·x̂ over the channel.
      double sum_dy = 0, sum_dy_xhat = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const T* xr = x + (n * s.C + c) * s.S;
        const T* gr = dy + (n * s.C + c) * s.S;
        const double m = mean[c], is = invstd[c];
        sum_dy += lane_sum(s.S, [gr](int64_t i) { return double(gr[i]); });
        sum_dy_xhat += lane_sum(s.S, [xr, gr, m, is](int64_t i) { return double(gr[i]) * (double(xr[i]) - m) * is; });
      }
      if (dgamma_) static_cast<T*>(dgamma_)[c] = T(sum_dy_xhat);
      if (dbeta_) static_cast<T*>(dbeta_)[c] = T(sum_dy);
      if (!dx) continue;
      double g = double(gamma[c]) * invstd[c];
      // training: dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)); eval: dx = γ·invstd·dy.
      double mean_dy = training ? sum_dy / count : 0;
      double mean_dy_xhat = training ? sum_dy_xhat / count : 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const T* xr = x + (n * s.C + c) * s.S;
        const T* gr = dy + (n * s.C + c) * s.S;
        T* out = dx + (n * s.C + c) * s.S;
        for (int64_t i = 0; i < s.S; ++i) {
          double xhat = (double(xr[i]) - mean[c]) * invstd[c];
          out[i] = T(g * (double(gr[i]) - mean_dy - xhat * mean_dy_xhat));
        }
      }
    }
  });
}

void bn_train_stats(DType t, const BatchNormShape& s, const void* x, double eps, double momentum, void* running_mean_,
                    void* running_var_, double* mean, double* invstd) {
  std::vector<double> var(size_t(s.C));
  bn_stats(t, s, x, mean, var.data());
  float_switch("bn_train_stats", t, [&](auto zero) {
    using T = decltype(zero);
    T* running_mean = static_cast<T*>(running_mean_);
    T* running_var = static_cast<T*>(running_var_);
    const double count = double(s.N * s.S);
    for (int64_t c = 0; c < s.C; ++c) {
      const double v = var[size_t(c)];
      running_mean[c] = T((1 - momentum) * double(running_mean[c]) + momentum * mean[c]);
      running_var[c] = T((1 - momentum) * double(running_var[c]) + momentum * v * count / (count - 1));
      invstd[c] = 1.0 / std::sqrt(v + eps);
    }
  });
}

void bn_eval_stats(DType t, int64_t C, double eps, const void* running_mean_, const void* running_var_, double* mean,
                   double* invstd) {
  float_switch("bn_eval_stats", t, [&](auto zero) {
    using T = decltype(zero);
    const T* running_mean = static_cast<const T*>(running_mean_);
    const T* running_var = static_cast<const T*>(running_var_);
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = double(running_mean[c]);
      invstd[c] = 1.0 / std::sqrt(double(running_var[c]) + eps);
    }
  });
}

void bn_backward(DType t, const BatchNormShape& s, bool training, const void* x, const void* y_relu, const void* dy_,
                 const double* mean, const double* invstd, const void* gamma, void* dx, void* dgamma, void* dbeta) {
  if (!y_relu) return bn_backward(t, s, training, x, dy_, mean, invstd, gamma, dx, dgamma, dbeta);
  float_switch("bn_backward", t, [&](auto zero) {
    using T = decltype(zero);
    // The fused ReLU's mask: the gradient passes where the output was positive.
    const int64_t n = s.N * s.C * s.S;
    const T* dy = static_cast<const T*>(dy_);
    const T* y = static_cast<const T*>(y_relu);
    std::vector<T> masked(static_cast<size_t>(n));
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) masked[size_t(i)] = y[i] > T(0) ? dy[i] : T(0);
    bn_backward(t, s, training, x, masked.data(), mean, invstd, gamma, dx, dgamma, dbeta);
  });
}

}  // namespace mtmap::cpu
