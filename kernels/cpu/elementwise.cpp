// Elementwise CPU kernels over the row plan of strided_loop.h. Inner loops are specialised for
// unit and zero strides (contiguous and broadcast operands), which the compiler vectorises.
#include <cstring>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/dtype_switch.h"
#include "kernels/cpu/strided_loop.h"

namespace mtmap::cpu {
namespace {

StridedIndex contiguous_like(const StridedIndex& ix) {
  StridedIndex out = ix;
  int64_t acc = 1;
  for (int d = ix.ndim - 1; d >= 0; --d) {
    out.strides[d] = acc;
    acc *= ix.sizes[d];
  }
  return out;
}

// z[o + j] = f(x[bx + j·sx], y[by + j·sy]) with the common stride patterns spelled out.
template <class TZ, class TX, class TY, class F>
inline void binary_row(TZ* z, const TX* x, const TY* y, int64_t sx, int64_t sy, int64_t len, F f) {
  if (sx == 1 && sy == 1)
    for (int64_t j = 0; j < len; ++j) z[j] = f(x[j], y[j]);
  else if (sx == 1 && sy == 0)
    for (int64_t j = 0; j < len; ++j) z[j] = f(x[j], y[0]);
  else if (sx == 0 && sy == 1)
    for (int64_t j = 0; j < len; ++j) z[j] = f(x[0], y[j]);
  else
    for (int64_t j = 0; j < len; ++j) z[j] = f(x[j * sx], y[j * sy]);
}

}  // namespace

void unary(DType t, const UnaryParams& p, const void* in, void* out) {
  float_switch("unary", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    const T a = T(p.a), b = T(p.b);
    auto plan = coalesce<2>(p.n, {contiguous_like(p.in), p.in});
    for_each_row(plan, [&](int64_t o, const std::array<int64_t, 2>& base, const std::array<int64_t, 2>& step, int64_t len) {
      const T* xr = x + base[1];
      T* yr = y + o;
      const int64_t s = step[1];
      switch (p.op) {  // the switch outside the loop, so each loop body is one formula
#define MTMAP_UNARY_CASE(OP)                                                             \
  case UnaryOp::OP:                                                                      \
    if (s == 1)                                                                          \
      for (int64_t j = 0; j < len; ++j) yr[j] = apply_unary(UnaryOp::OP, xr[j], a, b);   \
    else                                                                                 \
      for (int64_t j = 0; j < len; ++j) yr[j] = apply_unary(UnaryOp::OP, xr[j * s], a, b); \
    break;
        MTMAP_UNARY_CASE(affine)
        MTMAP_UNARY_CASE(exp)
        MTMAP_UNARY_CASE(log)
        MTMAP_UNARY_CASE(sqrt)
        MTMAP_UNARY_CASE(relu)
        MTMAP_UNARY_CASE(abs)
        MTMAP_UNARY_CASE(sign)
        MTMAP_UNARY_CASE(pow_scalar)
        MTMAP_UNARY_CASE(clamp)
        MTMAP_UNARY_CASE(reciprocal)
#undef MTMAP_UNARY_CASE
      }
    });
  });
}

void binary(DType t, BinaryOp op, const BinaryParams& p, const void* a, const void* b, void* out) {
  float_switch("binary", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    T* z = static_cast<T*>(out);
    auto plan = coalesce<3>(p.n, {contiguous_like(p.a), p.a, p.b});
    for_each_row(plan, [&](int64_t o, const std::array<int64_t, 3>& base, const std::array<int64_t, 3>& step, int64_t len) {
      const T* xr = x + base[1];
      const T* yr = y + base[2];
      switch (op) {
        case BinaryOp::add: binary_row(z + o, xr, yr, step[1], step[2], len, [](T u, T v) { return u + v; }); break;
        case BinaryOp::sub: binary_row(z + o, xr, yr, step[1], step[2], len, [](T u, T v) { return u - v; }); break;
        case BinaryOp::mul: binary_row(z + o, xr, yr, step[1], step[2], len, [](T u, T v) { return u * v; }); break;
        case BinaryOp::div: binary_row(z + o, xr, yr, step[1], step[2], len, [](T u, T v) { return u / v; }); break;
        case BinaryOp::add_relu:
          binary_row(z + o, xr, yr, step[1], step[2], len, [](T u, T v) { return !(u + v <= T(0)) ? u + v : T(0); });
          break;
        case BinaryOp::relu_grad:
          binary_row(z + o, xr, yr, step[1], step[2], len, [](T u, T v) { return v > T(0) ? u : T(0); });
          break;
        default:
          binary_row(z + o, xr, yr, step[1], step[2], len, [op](T u, T v) { return apply_binary(op, u, v); });
      }
    });
  });
}

void compare(DType t, CompareOp op, const BinaryParams& p, const void* a, const void* b, uint8_t* out) {
  float_switch("compare", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    auto plan = coalesce<3>(p.n, {contiguous_like(p.a), p.a, p.b});
    for_each_row(plan, [&](int64_t o, const std::array<int64_t, 3>& base, const std::array<int64_t, 3>& step, int64_t len) {
      const T* xr = x + base[1];
      const T* yr = y + base[2];
      switch (op) {
        case CompareOp::gt: binary_row(out + o, xr, yr, step[1], step[2], len, [](T u, T v) { return uint8_t(u > v); }); break;
        case CompareOp::lt: binary_row(out + o, xr, yr, step[1], step[2], len, [](T u, T v) { return uint8_t(u < v); }); break;
        default:
          binary_row(out + o, xr, yr, step[1], step[2], len, [op](T u, T v) { return apply_compare(op, u, v); });
      }
    });
  });
}

void where(DType t, const WhereParams& p, const uint8_t* cond, const void* a, const void* b, void* out) {
  float_switch("where", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    T* z = static_cast<T*>(out);
    auto plan = coalesce<4>(p.n, {contiguous_like(p.cond), p.cond, p.a, p.b});
    for_each_row(plan, [&](int64_t o, const std::array<int64_t, 4>& base, const std::array<int64_t, 4>& step, int64_t len) {
      const uint8_t* c = cond + base[1];
      const T* xr = x + base[2];
      const T* yr = y + base[3];
      T* zr = z + o;
      if (step[1] == 1 && step[2] == 1 && step[3] == 0)  // where(mask, g, 0): the ReLU backward
        for (int64_t j = 0; j < len; ++j) zr[j] = c[j] ? xr[j] : yr[0];
      else if (step[1] == 1 && step[2] == 0 && step[3] == 1)
        for (int64_t j = 0; j < len; ++j) zr[j] = c[j] ? xr[0] : yr[j];
      else
        for (int64_t j = 0; j < len; ++j) zr[j] = c[j * step[1]] ? xr[j * step[2]] : yr[j * step[3]];
    });
  });
}

void copy(DType src_t, DType dst_t, const CopyParams& p, const void* src, void* dst) {
  if (src_t == dst_t && p.src.contiguous() && p.dst.contiguous()) {
    std::memcpy(dst, src, size_t(p.n) * dtype_size(src_t));
    return;
  }
  any_switch(src_t, [&](auto s0) {
    using S = decltype(s0);
    any_switch(dst_t, [&](auto d0) {
      using D = decltype(d0);
      const S* s = static_cast<const S*>(src);
      D* d = static_cast<D*>(dst);
      // The destination may be a strided view too: plan over (dst, src) and index both.
      auto plan = coalesce<2>(p.n, {p.dst, p.src});
      const StridedIndex& di = plan.ix[0];
      const int64_t len = di.sizes[di.ndim - 1];
      const int64_t rows = len == 0 ? 0 : p.n / len;
      const int64_t sd = di.strides[di.ndim - 1], ss = plan.ix[1].strides[di.ndim - 1];
#pragma omp parallel for schedule(static) if (p.n > (1 << 15))
      for (int64_t r = 0; r < rows; ++r) {
        D* dr = d + plan.ix[0].offset(r * len);
        const S* sr = s + plan.ix[1].offset(r * len);
        for (int64_t j = 0; j < len; ++j) {
          if constexpr (std::is_same_v<S, D>)
            dr[j * sd] = sr[j * ss];
          else
            dr[j * sd] = from_double<D>(to_double(sr[j * ss]));
        }
      }
    });
  });
}

void fill(DType t, int64_t n, double value, void* out) {
  any_switch(t, [&](auto zero) {
    using T = decltype(zero);
    T v = from_double<T>(value);
    T* o = static_cast<T*>(out);
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  });
}

}  // namespace mtmap::cpu
