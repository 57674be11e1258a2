// Row reductions and the softmax family on the CPU. Sums accumulate in double, row by row in a
// fixed order: deterministic, and accurate enough to serve as the CUDA kernels' reference.
#include <cmath>
#include <limits>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {

void reduce(DType t, const ReduceParams& p, const void* in, void* out) {
  float_switch("reduce", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    for (int64_t r = 0; r < p.rows; ++r) {
      const T* row = x + r * p.cols;
      double acc = 0;
      switch (p.op) {
        case ReduceOp::sum:
        case ReduceOp::mean:
          for (int64_t c = 0; c < p.cols; ++c) acc += double(row[c]);
          if (p.op == ReduceOp::mean) acc /= double(p.cols);
          break;
        case ReduceOp::max:
          acc = -std::numeric_limits<double>::infinity();
          for (int64_t c = 0; c < p.cols; ++c) acc = std::fmax(acc, double(row[c]));
          break;
        case ReduceOp::min:
          acc = std::numeric_limits<double>::infinity();
          for (int64_t c = 0; c < p.cols; ++c) acc = std::fmin(acc, double(row[c]));
          break;
        case ReduceOp::var: {
          double mean = 0;
          for (int64_t c = 0; c < p.cols; ++c) mean += double(row[c]);
          mean /= double(p.cols);
          for (int64_t c = 0; c < p.cols; ++c) {
            double d = double(row[c]) - mean;
            acc += d * d;
          }
          acc /= double(p.cols) - p.correction;
          break;
        }
      }
      y[r] = T(acc);
    }
  });
}

void row_op(DType t, const RowParams& p, const void* in, void* out) {
  float_switch("row_op", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    for (int64_t r = 0; r < p.rows; ++r) {
      const T* row = x + r * p.cols;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < p.cols; ++c) mx = std::fmax(mx, double(row[c]));
      double s = 0;
      for (int64_t c = 0; c < p.cols; ++c) s += std::exp(double(row[c]) - mx);
      switch (p.op) {
        case RowOp::softmax:
          for (int64_t c = 0; c < p.cols; ++c) y[r * p.cols + c] = T(std::exp(double(row[c]) - mx) / s);
          break;
        case RowOp::log_softmax: {
          double lse = mx + std::log(s);
          for (int64_t c = 0; c < p.cols; ++c) y[r * p.cols + c] = T(double(row[c]) - lse);
          break;
        }
        case RowOp::logsumexp: y[r] = T(mx + std::log(s)); break;
      }
    }
  });
}

}  // namespace mtmap::cpu
