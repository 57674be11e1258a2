// Elementwise CUDA kernels: unary, binary, compare, where. Two launcher branches each:
//  - contiguous: every operand is a plain array in output order, so element i is at offset i;
//  - strided: each output index is decoded into per-operand offsets (views, permutations and
//    0-stride broadcast axes cost no copy).
// Grid-stride loops with 64-bit indices cover any n. The scalar math is the shared MTMAP_HD
// apply_* of kernels/common/elementwise.h, the same code the CPU reference runs; bf16 computes in
// float and rounds once on store.
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda {
namespace {

using detail::compute_t;
using detail::load;
using detail::store;

__device__ __forceinline__ int64_t first_index() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

template <class T, bool Contiguous>
__global__ void unary_kernel(UnaryParams p, const T* __restrict__ in, T* __restrict__ out) {
  using C = compute_t<T>;
  C a = C(p.a), b = C(p.b);
  for (int64_t i = first_index(); i < p.n; i += grid_stride()) {
    int64_t at = Contiguous ? i : p.in.offset(i);
    out[i] = store<T>(apply_unary<C>(p.op, load(in[at]), a, b));
  }
}

template <class T, bool Contiguous>
__global__ void binary_kernel(BinaryOp op, BinaryParams p, const T* __restrict__ a, const T* __restrict__ b,
                              T* __restrict__ out) {
  using C = compute_t<T>;
  for (int64_t i = first_index(); i < p.n; i += grid_stride()) {
    int64_t ia = Contiguous ? i : p.a.offset(i), ib = Contiguous ? i : p.b.offset(i);
    out[i] = store<T>(apply_binary<C>(op, load(a[ia]), load(b[ib])));
  }
}

template <class T, bool Contiguous>
__global__ void compare_kernel(CompareOp op, BinaryParams p, const T* __restrict__ a, const T* __restrict__ b,
                               uint8_t* __restrict__ out) {
  using C = compute_t<T>;
  for (int64_t i = first_index(); i < p.n; i += grid_stride()) {
    int64_t ia = Contiguous ? i : p.a.offset(i), ib = Contiguous ? i : p.b.offset(i);
    out[i] = apply_compare<C>(op, load(a[ia]), load(b[ib]));
  }
}

template <class T, bool Contiguous>
__global__ void where_kernel(WhereParams p, const uint8_t* __restrict__ cond, const T* __restrict__ a,
                             const T* __restrict__ b, T* __restrict__ out) {
  for (int64_t i = first_index(); i < p.n; i += grid_stride()) {
    int64_t ic = Contiguous ? i : p.cond.offset(i);
    int64_t ia = Contiguous ? i : p.a.offset(i), ib = Contiguous ? i : p.b.offset(i);
    out[i] = cond[ic] ? a[ia] : b[ib];  // a pure selection: no conversion, bit-exact
  }
}

}  // namespace

void unary(DType t, const UnaryParams& p, const void* in, void* out, cudaStream_t stream) {
  if (p.n == 0) return;
  detail::float_switch("unary", t, [&](auto zero) {
    using T = decltype(zero);
    auto x = static_cast<const T*>(in);
    auto y = static_cast<T*>(out);
    unsigned grid = detail::blocks_for(p.n);
    if (p.in.contiguous())
      launch_kernel(unary_kernel<T, true>, dim3(grid), dim3(detail::kThreads), 0, stream, p, x, y);
    else
      launch_kernel(unary_kernel<T, false>, dim3(grid), dim3(detail::kThreads), 0, stream, p, x, y);
    detail::check_launch("unary");
  });
}

void binary(DType t, BinaryOp op, const BinaryParams& p, const void* a, const void* b, void* out, cudaStream_t stream) {
  if (p.n == 0) return;
  detail::float_switch("binary", t, [&](auto zero) {
    using T = decltype(zero);
    auto x = static_cast<const T*>(a);
    auto y = static_cast<const T*>(b);
    auto z = static_cast<T*>(out);
    unsigned grid = detail::blocks_for(p.n);
    if (p.a.contiguous() && p.b.contiguous())
      launch_kernel(binary_kernel<T, true>, dim3(grid), dim3(detail::kThreads), 0, stream, op, p, x, y, z);
    else
      launch_kernel(binary_kernel<T, false>, dim3(grid), dim3(detail::kThreads), 0, stream, op, p, x, y, z);
    detail::check_launch("binary");
  });
}

void compare(DType t, CompareOp op, const BinaryParams& p, const void* a, const void* b, uint8_t* out,
             cudaStream_t stream) {
  if (p.n == 0) return;
  detail::float_switch("compare", t, [&](auto zero) {
    using T = decltype(zero);
    auto x = static_cast<const T*>(a);
    auto y = static_cast<const T*>(b);
    unsigned grid = detail::blocks_for(p.n);
    if (p.a.contiguous() && p.b.contiguous())
      launch_kernel(compare_kernel<T, true>, dim3(grid), dim3(detail::kThreads), 0, stream, op, p, x, y, out);
    else
      launch_kernel(compare_kernel<T, false>, dim3(grid), dim3(detail::kThreads), 0, stream, op, p, x, y, out);
    detail::check_launch("compare");
  });
}

void where(DType t, const WhereParams& p, const uint8_t* cond, const void* a, const void* b, void* out,
           cudaStream_t stream) {
  if (p.n == 0) return;
  detail::float_switch("where", t, [&](auto zero) {
    using T = decltype(zero);
    auto x = static_cast<const T*>(a);
    auto y = static_cast<const T*>(b);
    auto z = static_cast<T*>(out);
    unsigned grid = detail::blocks_for(p.n);
    if (p.cond.contiguous() && p.a.contiguous() && p.b.contiguous())
      launch_kernel(where_kernel<T, true>, dim3(grid), dim3(detail::kThreads), 0, stream, p, cond, x, y, z);
    else
      launch_kernel(where_kernel<T, false>, dim3(grid), dim3(detail::kThreads), 0, stream, p, cond, x, y, z);
    detail::check_launch("where");
  });
}

}  // namespace mtmap::cuda
