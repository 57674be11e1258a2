#pragma once
// What the two loss kernel files share: block sizes, the fixed-tree block reductions (double, no
// atomics: a rerun gives the same bits) and the f32/f64 switch. Not a public header.
#include <cstddef>

#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda::loss_detail {

inline constexpr int kReduceThreads = 256;
inline constexpr int kPairThreads = 512;
inline constexpr int kTile = 16;

// Sum of one double per thread over the block (blockDim.x a power of two, ≤ N); every thread
// gets the result. `buf` holds blockDim.x doubles.
__device__ inline double block_sum(double v, double* buf) {
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
  double r = buf[0];
  __syncthreads();
  return r;
}

__device__ inline double block_max(double v, double* buf) {
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) buf[threadIdx.x] = fmax(buf[threadIdx.x], buf[threadIdx.x + s]);
    __syncthreads();
  }
  double r = buf[0];
  __syncthreads();
  return r;
}

template <class F>
inline void f32_f64(const char* launcher, DType t, F&& f) {
  if (t == DType::f32)
    f(float{});
  else if (t == DType::f64)
    f(double{});
  else
    detail::unsupported(launcher, t);
}

inline size_t align_up(size_t n) { return (n + 255) / 256 * 256; }

}  // namespace mtmap::cuda::loss_detail
