#pragma once
// Parameter structs and the scalar math of the elementwise kernels. The math is written once,
// here, for both backends, so the CPU reference and the CUDA kernels compute the same formula.
#include <cmath>
#include <cstdint>

#include "kernels/common/host_device.h"
#include "kernels/common/strided.h"

namespace mtmap {

enum class UnaryOp : uint8_t {
  affine,      // a*x + b   (add/mul by scalar, neg, rsub)
  exp,
  log,
  sqrt,
  relu,
  abs,
  sign,
  pow_scalar,  // x^a
  clamp,       // min(max(x, a), b)
  reciprocal,  // a / x
};

struct UnaryParams {
  UnaryOp op = UnaryOp::affine;
  double a = 0, b = 0;
  int64_t n = 0;      // elements; the output is contiguous
  StridedIndex in;    // sizes = output sizes
};

enum class BinaryOp : uint8_t {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  add_relu,   // max(x + y, 0): a residual block's last two steps in one pass
  relu_grad,  // y > 0 ? x : 0: a gradient x through a ReLU whose output was y, in one pass
};
enum class CompareOp : uint8_t { eq, ne, lt, le, gt, ge };

struct BinaryParams {
  int64_t n = 0;  // elements of the contiguous output
  StridedIndex a, b;  // both with the output's sizes, 0-strides on broadcast axes
};

struct WhereParams {
  int64_t n = 0;
  StridedIndex cond, a, b;  // cond is u8
};

// Strided copy with conversion: any dtype to any dtype, any layout to any layout.
struct CopyParams {
  int64_t n = 0;
  StridedIndex src, dst;  // same sizes
};

template <class T>
MTMAP_HD inline T apply_unary(UnaryOp op, T x, T a, T b) {
  using std::abs;
  using std::exp;
  using std::log;
  using std::pow;
  using std::sqrt;
  switch (op) {
    case UnaryOp::affine: return a * x + b;
    case UnaryOp::exp: return exp(x);
    case UnaryOp::log: return log(x);
    case UnaryOp::sqrt: return sqrt(x);
    // !(x <= 0) rather than x > 0: a NaN passes through, as in PyTorch (a ReLU that maps NaN to 0
    // hides a diverged run from its loss); −0 still becomes +0.
    case UnaryOp::relu: return !(x <= T(0)) ? x : T(0);
    case UnaryOp::abs: return abs(x);
    case UnaryOp::sign: return T((x > T(0)) - (x < T(0)));
    case UnaryOp::pow_scalar: return pow(x, a);
    case UnaryOp::clamp: return x < a ? a : (x > b ? b : x);
    case UnaryOp::reciprocal: return a / x;
  }
  return x;
}

template <class T>
MTMAP_HD inline T apply_binary(BinaryOp op, T x, T y) {
  using std::pow;
  switch (op) {
    case BinaryOp::add: return x + y;
    case BinaryOp::sub: return x - y;
    case BinaryOp::mul: return x * y;
    case BinaryOp::div: return x / y;
    case BinaryOp::pow: return pow(x, y);
    case BinaryOp::maximum: return x > y ? x : y;
    case BinaryOp::minimum: return x < y ? x : y;
    case BinaryOp::add_relu: return !(x + y <= T(0)) ? x + y : T(0);
    case BinaryOp::relu_grad: return y > T(0) ? x : T(0);
  }
  return x;
}

template <class T>
MTMAP_HD inline uint8_t apply_compare(CompareOp op, T x, T y) {
  switch (op) {
    case CompareOp::eq: return x == y;
    case CompareOp::ne: return x != y;
    case CompareOp::lt: return x < y;
    case CompareOp::le: return x <= y;
    case CompareOp::gt: return x > y;
    case CompareOp::ge: return x >= y;
  }
  return 0;
}

}  // namespace mtmap
