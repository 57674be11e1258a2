// 3D max and adaptive average pooling on CUDA over (N·C, D, H, W) planes.
//
// Forward: one thread per output element. Backward: one thread per *input* element, which gathers
// the outputs whose window covers it (a gather instead of the scatter dx[argmax] += dy: no atomics,
// no memset, every dx element written once). The gather visits the covering outputs in increasing
// output order, which is the order the CPU kernels add them in, so f32 and f64 results are
// bit-identical to the CPU's; bf16 accumulates in float and rounds once.
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pool3d.h"

namespace mtmap::cuda {
namespace {

using detail::compute_t;
using detail::load;
using detail::store;

struct Index3 {
  int64_t plane, d, h, w;
};

// e = ((plane·D + d)·H + h)·W + w.
__device__ __forceinline__ Index3 split(int64_t e, int64_t D, int64_t H, int64_t W) {
  Index3 r;
  r.w = e % W;
  e /= W;
  r.h = e % H;
  e /= H;
  r.d = e % D;
  r.plane = e / D;
  return r;
}

// The outputs o of a strided window (kernel k, stride st, padding pad, `out` outputs) whose window
// covers input position i: o·st − pad ≤ i ≤ o·st − pad + k − 1.
__device__ __forceinline__ void covering(int64_t i, int64_t k, int64_t st, int64_t pad, int64_t out, int64_t& lo,
                                         int64_t& hi) {
  const int64_t num = i + pad - k + 1;  // o ≥ num / st, rounded up
  lo = num <= 0 ? 0 : (num + st - 1) / st;
  hi = std::min(out - 1, (i + pad) / st);
}

template <class T>
__global__ void max_pool_kernel(Pool3dShape s, const T* __restrict__ x, T* __restrict__ y,
                                int64_t* __restrict__ argmax) {
  using A = compute_t<T>;
  const int64_t total = s.planes * s.Z * s.P * s.Q, in_plane = s.D * s.H * s.W;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    const Index3 at = split(o, s.Z, s.P, s.Q);
    const T* in = x + at.plane * in_plane;
    A best = A(-INFINITY);
    int64_t where = -1;
    for (int64_t a = 0; a < s.kd; ++a) {
      const int64_t d = at.d * s.sd - s.pd + a;
      if (d < 0 || d >= s.D) continue;
      for (int64_t b = 0; b < s.kh; ++b) {
        const int64_t h = at.h * s.sh - s.ph + b;
        if (h < 0 || h >= s.H) continue;
        for (int64_t c = 0; c < s.kw; ++c) {
          const int64_t w = at.w * s.sw - s.pw + c;
          if (w < 0 || w >= s.W) continue;
          const int64_t i = (d * s.H + h) * s.W + w;
          const A v = load(in[i]);
          // The CPU rule: the first element, then any larger one; a NaN wins and stays.
          if (where < 0 || v > best || (v != v && best == best)) {
            best = v;
            where = i;
          }
        }
      }
    }
    y[o] = store<T>(best);
    argmax[o] = where;
  }
}

template <class T>
__global__ void max_pool_backward_kernel(Pool3dShape s, const T* __restrict__ dy, const int64_t* __restrict__ argmax,
                                         T* __restrict__ dx) {
  using A = compute_t<T>;
  const int64_t total = s.planes * s.D * s.H * s.W, out_plane = s.Z * s.P * s.Q;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const Index3 at = split(e, s.D, s.H, s.W);
    const int64_t self = (at.d * s.H + at.h) * s.W + at.w;
    int64_t z0, z1, p0, p1, q0, q1;
    covering(at.d, s.kd, s.sd, s.pd, s.Z, z0, z1);
    covering(at.h, s.kh, s.sh, s.ph, s.P, p0, p1);
    covering(at.w, s.kw, s.sw, s.pw, s.Q, q0, q1);
    const int64_t base = at.plane * out_plane;
    A acc = A(0);
    for (int64_t z = z0; z <= z1; ++z)
      for (int64_t p = p0; p <= p1; ++p)
        for (int64_t q = q0; q <= q1; ++q) {
          const int64_t o = base + (z * s.P + p) * s.Q + q;
          if (argmax[o] == self) acc += A(load(dy[o]));
        }
    dx[e] = store<T>(acc);
  }
}

__device__ __forceinline__ int64_t cell_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
__device__ __forceinline__ int64_t cell_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

template <class T>
__global__ void avg_pool_kernel(Pool3dShape s, const T* __restrict__ x, T* __restrict__ y) {
  const int64_t total = s.planes * s.Z * s.P * s.Q, in_plane = s.D * s.H * s.W;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    const Index3 at = split(o, s.Z, s.P, s.Q);
    const int64_t d0 = cell_start(at.d, s.D, s.Z), d1 = cell_end(at.d, s.D, s.Z);
    const int64_t h0 = cell_start(at.h, s.H, s.P), h1 = cell_end(at.h, s.H, s.P);
    const int64_t w0 = cell_start(at.w, s.W, s.Q), w1 = cell_end(at.w, s.W, s.Q);
    const T* in = x + at.plane * in_plane;
    double acc = 0;  // the CPU's accumulator and order: f32/f64 results match it bit for bit
    for (int64_t d = d0; d < d1; ++d)
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) acc += double(load(in[(d * s.H + h) * s.W + w]));
    y[o] = store<T>(compute_t<T>(acc / double((d1 - d0) * (h1 - h0) * (w1 - w0))));
  }
}

// The cells i of an adaptive axis (in → out) that cover input position j: the first is
// floor(j·out/in) (it starts at or before j and ends after it); later ones while they start ≤ j.
__device__ __forceinline__ int64_t first_cell(int64_t j, int64_t in, int64_t out) { return (j * out) / in; }

template <class T>
__global__ void avg_pool_backward_kernel(Pool3dShape s, const T* __restrict__ dy, T* __restrict__ dx) {
  using A = compute_t<T>;
  const int64_t total = s.planes * s.D * s.H * s.W, out_plane = s.Z * s.P * s.Q;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const Index3 at = split(e, s.D, s.H, s.W);
    const T* g = dy + at.plane * out_plane;
    A acc = A(0);
    for (int64_t z = first_cell(at.d, s.D, s.Z); z < s.Z && cell_start(z, s.D, s.Z) <= at.d; ++z) {
      const int64_t nd = cell_end(z, s.D, s.Z) - cell_start(z, s.D, s.Z);
      for (int64_t p = first_cell(at.h, s.H, s.P); p < s.P && cell_start(p, s.H, s.P) <= at.h; ++p) {
        const int64_t nh = cell_end(p, s.H, s.P) - cell_start(p, s.H, s.P);
        for (int64_t q = first_cell(at.w, s.W, s.Q); q < s.Q && cell_start(q, s.W, s.Q) <= at.w; ++q) {
          const int64_t nw = cell_end(q, s.W, s.Q) - cell_start(q, s.W, s.Q);
          // The CPU's share: dy / count rounded to the element type, then added.
          acc += A(double(load(g[(z * s.P + p) * s.Q + q])) / double(nd * nh * nw));
        }
      }
    }
    dx[e] = store<T>(acc);
  }
}

void check_shape(const char* launcher, const Pool3dShape& s) {
  if (s.planes < 1 || s.D < 1 || s.H < 1 || s.W < 1 || s.Z < 1 || s.P < 1 || s.Q < 1)
    throw std::invalid_argument(std::string("cuda launcher ") + launcher + ": empty input or output (planes " +
                                std::to_string(s.planes) + ", input " + std::to_string(s.D) + "x" +
                                std::to_string(s.H) + "x" + std::to_string(s.W) + ", output " + std::to_string(s.Z) +
                                "x" + std::to_string(s.P) + "x" + std::to_string(s.Q) + ")");
}

}  // namespace

void max_pool3d(DType t, const Pool3dShape& s, const void* x, void* y, int64_t* argmax, cudaStream_t stream) {
  check_shape("max_pool3d", s);
  detail::float_switch("max_pool3d", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(max_pool_kernel<T>, dim3(detail::blocks_for(s.planes * s.Z * s.P * s.Q)), dim3(detail::kThreads), 0, stream, s, static_cast<const T*>(x), static_cast<T*>(y), argmax);
    detail::check_launch("max_pool3d");
  });
}

void max_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, const int64_t* argmax, void* dx,
                         cudaStream_t stream) {
  check_shape("max_pool3d_backward", s);
  detail::float_switch("max_pool3d_backward", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(max_pool_backward_kernel<T>, dim3(detail::blocks_for(s.planes * s.D * s.H * s.W)), dim3(detail::kThreads), 0, stream, s, static_cast<const T*>(dy), argmax, static_cast<T*>(dx));
    detail::check_launch("max_pool3d_backward");
  });
}

void adaptive_avg_pool3d(DType t, const Pool3dShape& s, const void* x, void* y, cudaStream_t stream) {
  check_shape("adaptive_avg_pool3d", s);
  detail::float_switch("adaptive_avg_pool3d", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(avg_pool_kernel<T>, dim3(detail::blocks_for(s.planes * s.Z * s.P * s.Q)), dim3(detail::kThreads), 0, stream, s, static_cast<const T*>(x), static_cast<T*>(y));
    detail::check_launch("adaptive_avg_pool3d");
  });
}

void adaptive_avg_pool3d_backward(DType t, const Pool3dShape& s, const void* dy, void* dx, cudaStream_t stream) {
  check_shape("adaptive_avg_pool3d_backward", s);
  detail::float_switch("adaptive_avg_pool3d_backward", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(avg_pool_backward_kernel<T>, dim3(detail::blocks_for(s.planes * s.D * s.H * s.W)), dim3(detail::kThreads), 0, stream, s, static_cast<const T*>(dy), static_cast<T*>(dx));
    detail::check_launch("adaptive_avg_pool3d_backward");
  });
}

}  // namespace mtmap::cuda
