// Batch norm on the CPU over an (N, C, S) view. Statistics and gradient sums accumulate in
// double, each channel by one thread in a fixed order (8 interleaved partial sums per row, added
// in a fixed order): deterministic for any thread count.
#include <cmath>
#include <type_traits>
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
            out[i] = !(v <= T(0)) ? v : T(0);  // NaN passes, as in the elementwise ReLU
          }
        else
          for (int64_t i = 0; i < s.S; ++i) out[i] = a * in[i] + b;
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

namespace {

// The backward pass of one dtype. kMasked: y_relu is the forward output of a fused ReLU, whose
// mask is applied to each row of dy as it is read (y > 0 ? dy : 0, the value relu's gradient has)
// into a row buffer, so the sums below stay the plain vectorised loops and no masked copy of the
// whole dy is made.
template <class T, bool kMasked>
void backward(const BatchNormShape& s, bool training, const T* x, const T* y_relu, const T* dy, const double* mean,
              const double* invstd, const T* gamma, T* dx, T* dgamma, T* dbeta) {
  const double count = double(s.N * s.S);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < s.C; ++c) {
    std::vector<T> masked(kMasked ? static_cast<size_t>(s.S) : 0);
    auto dy_row = [&](int64_t row) {
      const T* gr = dy + row;
      if constexpr (kMasked) {
        const T* yr = y_relu + row;
        T* out = masked.data();
        // Both loaded unconditionally, then selected: a branch on the sign of y mispredicts half the
        // time, a select vectorises.
        for (int64_t i = 0; i < s.S; ++i) {
          const T g = gr[i], y = yr[i];
          out[i] = y > T(0) ? g : T(0);
        }
        return static_cast<const T*>(masked.data());
      }
      return gr;
    };
    // Σ dy and Σ dy·x̂ over the channel.
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < s.N; ++n) {
      const int64_t row = (n * s.C + c) * s.S;
      const T* xr = x + row;
      const T* gr = dy_row(row);
      const double m = mean[c], is = invstd[c];
      sum_dy += lane_sum(s.S, [gr](int64_t i) { return double(gr[i]); });
      sum_dy_xhat += lane_sum(s.S, [xr, gr, m, is](int64_t i) { return double(gr[i]) * (double(xr[i]) - m) * is; });
    }
    if (dgamma) dgamma[c] = T(sum_dy_xhat);
    if (dbeta) dbeta[c] = T(sum_dy);
    if (!dx) continue;
    double g = double(gamma[c]) * invstd[c];
    // training: dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)); eval: dx = γ·invstd·dy.
    double mean_dy = training ? sum_dy / count : 0;
    double mean_dy_xhat = training ? sum_dy_xhat / count : 0;
    for (int64_t n = 0; n < s.N; ++n) {
      const int64_t row = (n * s.C + c) * s.S;
      const T* xr = x + row;
      const T* gr = dy_row(row);
      T* out = dx + row;
      for (int64_t i = 0; i < s.S; ++i) {
        double xhat = (double(xr[i]) - mean[c]) * invstd[c];
        out[i] = T(g * (double(gr[i]) - mean_dy - xhat * mean_dy_xhat));
      }
    }
  }
}

}  // namespace

void bn_backward(DType t, const BatchNormShape& s, bool training, const void* x, const void* dy, const double* mean,
                 const double* invstd, const void* gamma, void* dx, void* dgamma, void* dbeta) {
  bn_backward(t, s, training, x, nullptr, dy, mean, invstd, gamma, dx, dgamma, dbeta);
}

void bn_backward(DType t, const BatchNormShape& s, bool training, const void* x, const void* y_relu, const void* dy,
                 const double* mean, const double* invstd, const void* gamma, void* dx, void* dgamma, void* dbeta) {
  float_switch("bn_backward", t, [&](auto zero) {
    using T = decltype(zero);
    auto run = [&](auto masked) {
      backward<T, decltype(masked)::value>(s, training, static_cast<const T*>(x), static_cast<const T*>(y_relu),
                                           static_cast<const T*>(dy), mean, invstd, static_cast<const T*>(gamma),
                                           static_cast<T*>(dx), static_cast<T*>(dgamma), static_cast<T*>(dbeta));
    };
    if (y_relu)
      run(std::true_type{});
    else
      run(std::false_type{});
  });
}

}  // namespace mtmap::cpu
