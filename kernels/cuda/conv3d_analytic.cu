// The analytic conv3d kernels: direct loops over NCDHW / KCTRS, the CUDA counterpart of
// kernels/cpu/conv3d_reference.cpp. Slow and obviously correct: the GPU reference the tensor-core
// kernels are compared with, and the exact path of f64 and of f32 without TF32. Accumulation in
// f64 for f64, else f32; every output element is summed in one fixed order (no atomics).
#include "kernels/common/conv3d_igemm.h"
#include "kernels/cuda/conv3d_internal.h"
#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda::conv_detail {
namespace {

using detail::compute_t;
using detail::load;
using detail::store;

// One thread per output element.
template <class T>
__global__ void fprop_kernel(Conv3dProblem p, const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y) {
  const int64_t n_out = p.output_elements();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_out; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t q = i % p.Q, rest = i / p.Q;
    int64_t pp = rest % p.P;
    rest /= p.P;
    int64_t z = rest % p.Z;
    rest /= p.Z;
    int64_t k = rest % p.K, n = rest / p.K;
    compute_t<T> acc = 0;
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t t = 0; t < p.T; ++t) {
        int64_t d = z * p.stride_d - p.pad_d + t * p.dil_d;
        if (d < 0 || d >= p.D) continue;
        for (int64_t r = 0; r < p.R; ++r) {
          int64_t h = pp * p.stride_h - p.pad_h + r * p.dil_h;
          if (h < 0 || h >= p.H) continue;
          for (int64_t s = 0; s < p.S; ++s) {
            int64_t ww = q * p.stride_w - p.pad_w + s * p.dil_w;
            if (ww < 0 || ww >= p.W) continue;
            acc += load(x[(((n * p.C + c) * p.D + d) * p.H + h) * p.W + ww]) *
                   load(w[(((k * p.C + c) * p.T + t) * p.R + r) * p.S + s]);
          }
        }
      }
    y[i] = store<T>(acc);
  }
}

// One thread per input element, gathering the outputs its taps reach (no scatter, no atomics).
// The strides come as FastDivmod made on the host (IgemmDgradA::source divides by them).
template <class T>
__global__ void dgrad_kernel(Conv3dProblem p, FastDivmod sd, FastDivmod sh, FastDivmod sw, const T* __restrict__ dy,
                             const T* __restrict__ w, T* __restrict__ dx) {
  const int64_t n_in = p.input_elements();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_in; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t ww = i % p.W, rest = i / p.W;
    int64_t h = rest % p.H;
    rest /= p.H;
    int64_t d = rest % p.D;
    rest /= p.D;
    int64_t c = rest % p.C, n = rest / p.C;
    compute_t<T> acc = 0;
    for (int64_t k = 0; k < p.K; ++k)
      for (int64_t t = 0; t < p.T; ++t) {
        int z = IgemmDgradA::source(int(d + p.pad_d), int(t), int(p.dil_d), sd, int(p.Z));
        if (z < 0) continue;
        for (int64_t r = 0; r < p.R; ++r) {
          int q0 = IgemmDgradA::source(int(h + p.pad_h), int(r), int(p.dil_h), sh, int(p.P));
          if (q0 < 0) continue;
          for (int64_t s = 0; s < p.S; ++s) {
            int q1 = IgemmDgradA::source(int(ww + p.pad_w), int(s), int(p.dil_w), sw, int(p.Q));
            if (q1 < 0) continue;
            acc += load(dy[(((n * p.K + k) * p.Z + z) * p.P + q0) * p.Q + q1]) *
                   load(w[(((k * p.C + c) * p.T + t) * p.R + r) * p.S + s]);
          }
        }
      }
    dx[i] = store<T>(acc);
  }
}

constexpr int kWgradThreads = 256;

// One block per weight element: each of the block's threads sums a strided share of the N·Z·P·Q
// positions, then a fixed tree adds the partial sums (the same order every run). The block has
// analytic_wgrad_threads(positions) threads, a power of two.
template <class T>
__global__ void __launch_bounds__(kWgradThreads)
    wgrad_kernel(Conv3dProblem p, const T* __restrict__ x, const T* __restrict__ dy, T* __restrict__ dw) {
  using A = compute_t<T>;
  __shared__ A part[kWgradThreads];
  const int threads = int(blockDim.x);
  const int64_t i = blockIdx.x;
  int64_t s = i % p.S, rest = i / p.S;
  int64_t r = rest % p.R;
  rest /= p.R;
  int64_t t = rest % p.T;
  rest /= p.T;
  int64_t c = rest % p.C, k = rest / p.C;
  A acc = 0;
  const int64_t positions = p.output_positions();
  for (int64_t l = threadIdx.x; l < positions; l += threads) {
    int64_t q = l % p.Q, rest2 = l / p.Q;
    int64_t pp = rest2 % p.P;
    rest2 /= p.P;
    int64_t z = rest2 % p.Z, n = rest2 / p.Z;
    int64_t d = z * p.stride_d - p.pad_d + t * p.dil_d;
    int64_t h = pp * p.stride_h - p.pad_h + r * p.dil_h;
    int64_t ww = q * p.stride_w - p.pad_w + s * p.dil_w;
    if (d < 0 || d >= p.D || h < 0 || h >= p.H || ww < 0 || ww >= p.W) continue;
    acc += load(x[(((n * p.C + c) * p.D + d) * p.H + h) * p.W + ww]) *
           load(dy[(((n * p.K + k) * p.Z + z) * p.P + pp) * p.Q + q]);
  }
  part[threadIdx.x] = acc;
  __syncthreads();
  for (int half = threads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) dw[i] = store<T>(part[0]);
}

}  // namespace

int analytic_wgrad_threads(int64_t positions) {
  int threads = 32;
  while (threads < kWgradThreads && threads < positions) threads *= 2;
  return threads;
}

void analytic_fprop(DType t, const Conv3dProblem& p, const void* x, const void* w, void* y, cudaStream_t stream) {
  detail::float_switch("conv3d_fprop (analytic)", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(fprop_kernel<T>, dim3(detail::blocks_for(p.output_elements())), dim3(detail::kThreads), 0, stream, p, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<T*>(y));
  });
  detail::check_launch("conv3d_fprop (analytic)");
}

void analytic_dgrad(DType t, const Conv3dProblem& p, const void* dy, const void* w, void* dx, cudaStream_t stream) {
  detail::float_switch("conv3d_dgrad (analytic)", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(dgrad_kernel<T>, dim3(detail::blocks_for(p.input_elements())), dim3(detail::kThreads), 0, stream, p,
                  FastDivmod(int(p.stride_d)), FastDivmod(int(p.stride_h)), FastDivmod(int(p.stride_w)),
                  static_cast<const T*>(dy), static_cast<const T*>(w), static_cast<T*>(dx));
  });
  detail::check_launch("conv3d_dgrad (analytic)");
}

void analytic_wgrad(DType t, const Conv3dProblem& p, const void* x, const void* dy, void* dw, cudaStream_t stream) {
  if (p.weight_elements() > int64_t(INT32_MAX))
    throw std::invalid_argument("cuda launcher conv3d_wgrad (analytic): over 2^31 weight elements");
  detail::float_switch("conv3d_wgrad (analytic)", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(wgrad_kernel<T>, dim3(unsigned(p.weight_elements())),
                  dim3(unsigned(analytic_wgrad_threads(p.output_positions()))), 0, stream, p, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw));
  });
  detail::check_launch("conv3d_wgrad (analytic)");
}

}  // namespace mtmap::cuda::conv_detail
