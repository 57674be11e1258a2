// Elementwise CPU kernels. A contiguous fast path (a plain loop the compiler vectorises) and a
// strided path that decodes each output index into input offsets.
#include <cstring>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {

void unary(DType t, const UnaryParams& p, const void* in, void* out) {
  float_switch("unary", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    T a = T(p.a), b = T(p.b);
    if (p.in.contiguous()) {
      for (int64_t i = 0; i < p.n; ++i) y[i] = apply_unary(p.op, x[i], a, b);
    } else {
      for (int64_t i = 0; i < p.n; ++i) y[i] = apply_unary(p.op, x[p.in.offset(i)], a, b);
    }
  });
}

void binary(DType t, BinaryOp op, const BinaryParams& p, const void* a, const void* b, void* out) {
  float_switch("binary", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    T* z = static_cast<T*>(out);
    if (p.a.contiguous() && p.b.contiguous()) {
      for (int64_t i = 0; i < p.n; ++i) z[i] = apply_binary(op, x[i], y[i]);
    } else {
      for (int64_t i = 0; i < p.n; ++i) z[i] = apply_binary(op, x[p.a.offset(i)], y[p.b.offset(i)]);
    }
  });
}

void compare(DType t, CompareOp op, const BinaryParams& p, const void* a, const void* b, uint8_t* out) {
  float_switch("compare", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    for (int64_t i = 0; i < p.n; ++i) out[i] = apply_compare(op, x[p.a.offset(i)], y[p.b.offset(i)]);
  });
}

void where(DType t, const WhereParams& p, const uint8_t* cond, const void* a, const void* b, void* out) {
  float_switch("where", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    T* z = static_cast<T*>(out);
    for (int64_t i = 0; i < p.n; ++i) z[i] = cond[p.cond.offset(i)] ? x[p.a.offset(i)] : y[p.b.offset(i)];
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
      for (int64_t i = 0; i < p.n; ++i) {
        S v = s[p.src.offset(i)];
        if constexpr (std::is_same_v<S, D>)
          d[p.dst.offset(i)] = v;
        else
          d[p.dst.offset(i)] = from_double<D>(to_double(v));
      }
    });
  });
}

void fill(DType t, int64_t n, double value, void* out) {
  any_switch(t, [&](auto zero) {
    using T = decltype(zero);
    T v = from_double<T>(value);
    T* o = static_cast<T*>(out);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  });
}

}  // namespace mtmap::cpu
