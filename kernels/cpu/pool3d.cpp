// 3D max and adaptive average pooling on the CPU, one (D, H, W) plane at a time.
#include <cstring>
#include <limits>

#include "kernels/cpu/dtype_switch.h"
#include "kernels/cpu/pool3d.h"

namespace mtmap::cpu {

void max_pool3d(DType t, const Pool3dShape& s, const void* x_, void* y_, int64_t* argmax) {
  float_switch("max_pool3d", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(x_);
    T* y = static_cast<T*>(y_);
    const int64_t in_plane = s.D * s.H * s.W, out_plane = s.Z * s.P * s.Q;
    for (int64_t pl = 0; pl < s.planes; ++pl) {
      const T* in = x + pl * in_plane;
      for (int64_t z = 0; z < s.Z; ++z)
        for (int64_t p = 0; p < s.P; ++p)
          for (int64_t q = 0; q < s.Q; ++q) {
            T best = -std::numeric_limits<T>::infinity();
            int64_t where = -1;
            for (int64_t a = 0; a < s.kd; ++a) {
              int64_t d = z * s.sd - s.pd + a;
              if (d < 0 || d >= s.D) continue;
              for (int64_t b = 0; b < s.kh; ++b) {
                int64_t h = p * s.sh - s.ph + b;
                if (h < 0 || h >= s.H) continue;
                for (int64_t c = 0; c < s.kw; ++c) {
                  int64_t w = q * s.sw - s.pw + c;
                  if (w < 0 || w >= s.W) continue;
                  int64_t at = (d * s.H + h) * s.W + w;
                  T v = in[at];
                  // The first element, then any larger one; a NaN wins (as in PyTorch) and stays.
                  if (where < 0 || v > best || (v != v && best == best)) {
                    best = v;
                    where = at;
                  }
                }
              }
            }
            int64_t o = pl * out_plane + (z * s.P + p) * s.Q + q;
            y[o] = best;
            argmax[o] = where;
          }
    }
  });
}

void max_pool3d_backward(DType t, const Pool3dShape& s, const void* dy_, const int64_t* argmax, void* dx_) {
  float_switch("max_pool3d_backward", t, [&](auto zero) {
    using T = decltype(zero);
    const T* dy = static_cast<const T*>(dy_);
    T* dx = static_cast<T*>(dx_);
    const int64_t in_plane = s.D * s.H * s.W, out_plane = s.Z * s.P * s.Q;
    std::memset(dx, 0, sizeof(T) * size_t(s.planes * in_plane));
    for (int64_t pl = 0; pl < s.planes; ++pl)
      for (int64_t o = 0; o < out_plane; ++o) {
        int64_t at = argmax[pl * out_plane + o];
        if (at >= 0) dx[pl * in_plane + at] += dy[pl * out_plane + o];
      }
  });
}

namespace {

inline int64_t start_of(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
inline int64_t end_of(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

template <class T, class F>
void for_each_cell(const Pool3dShape& s, F&& f) {
  for (int64_t z = 0; z < s.Z; ++z)
    for (int64_t p = 0; p < s.P; ++p)
      for (int64_t q = 0; q < s.Q; ++q)
        f(z, p, q, start_of(z, s.D, s.Z), end_of(z, s.D, s.Z), start_of(p, s.H, s.P), end_of(p, s.H, s.P),
          start_of(q, s.W, s.Q), end_of(q, s.W, s.Q));
}

}  // namespace

void adaptive_avg_pool3d(DType t, const Pool3dShape& s, const void* x_, void* y_) {
  float_switch("adaptive_avg_pool3d", t, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(x_);
    T* y = static_cast<T*>(y_);
    const int64_t in_plane = s.D * s.H * s.W, out_plane = s.Z * s.P * s.Q;
    for (int64_t pl = 0; pl < s.planes; ++pl) {
      const T* in = x + pl * in_plane;
      for_each_cell<T>(s, [&](int64_t z, int64_t p, int64_t q, int64_t d0, int64_t d1, int64_t h0, int64_t h1,
                              int64_t w0, int64_t w1) {
        double acc = 0;
        for (int64_t d = d0; d < d1; ++d)
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) acc += double(in[(d * s.H + h) * s.W + w]);
        y[pl * out_plane + (z * s.P + p) * s.Q + q] = T(acc / double((d1 - d0) * (h1 - h0) * (w1 - w0)));
      });
    }
  });
}

void adaptive_avg_pool3d_backward(DType t, const Pool3dShape& s, const void* dy_, void* dx_) {
  float_switch("adaptive_avg_pool3d_backward", t, [&](auto zero) {
    using T = decltype(zero);
    const T* dy = static_cast<const T*>(dy_);
    T* dx = static_cast<T*>(dx_);
    const int64_t in_plane = s.D * s.H * s.W, out_plane = s.Z * s.P * s.Q;
    std::memset(dx, 0, sizeof(T) * size_t(s.planes * in_plane));
    for (int64_t pl = 0; pl < s.planes; ++pl) {
      T* out = dx + pl * in_plane;
      for_each_cell<T>(s, [&](int64_t z, int64_t p, int64_t q, int64_t d0, int64_t d1, int64_t h0, int64_t h1,
                              int64_t w0, int64_t w1) {
        T g = T(double(dy[pl * out_plane + (z * s.P + p) * s.Q + q]) / double((d1 - d0) * (h1 - h0) * (w1 - w0)));
        for (int64_t d = d0; d < d1; ++d)
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) out[(d * s.H + h) * s.W + w] += g;
      });
    }
  });
}

}  // namespace mtmap::cpu
