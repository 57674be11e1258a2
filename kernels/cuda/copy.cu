// Strided copy with dtype conversion (every dtype pair) and fill (every dtype).
// Conversions go through double, except to bf16, which rounds from float to nearest even: the
// CPU reference's rule (kernels/cpu/dtype_switch.h), so both backends produce the same bits.
// Branches: same dtype and both sides contiguous → one cudaMemcpyAsync; both contiguous → a
// converting loop with i as the offset; otherwise each index is decoded through both indexers.
#include <cstring>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda {
namespace {

template <class T>
__device__ __forceinline__ double to_double(T v) {
  if constexpr (std::is_same_v<T, BFloat16>)
    return double(bf16_to_float(v));
  else
    return double(v);
}

template <class T>
__device__ __forceinline__ T from_double(double v) {
  if constexpr (std::is_same_v<T, BFloat16>)
    return float_to_bf16(float(v));
  else
    return T(v);
}

template <class S, class D>
__device__ __forceinline__ D convert(S v) {
  if constexpr (std::is_same_v<S, D>)
    return v;
  else
    return from_double<D>(to_double(v));
}

template <class S, class D, bool Contiguous>
__global__ void copy_kernel(CopyParams p, const S* __restrict__ src, D* __restrict__ dst) {
  int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride) {
    if (Contiguous)
      dst[i] = convert<S, D>(src[i]);
    else
      dst[p.dst.offset(i)] = convert<S, D>(src[p.src.offset(i)]);
  }
}

// Fill works on the value's bit pattern, so one kernel per element width serves every dtype.
template <class W>
__global__ void fill_kernel(int64_t n, W bits, W* __restrict__ out) {
  int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) out[i] = bits;
}

template <class T>
T host_from_double(double v) {
  if constexpr (std::is_same_v<T, BFloat16>)
    return float_to_bf16(float(v));
  else
    return T(v);
}

template <class W>
void launch_fill(int64_t n, const void* value_bits, void* out, cudaStream_t stream) {
  W bits;
  std::memcpy(&bits, value_bits, sizeof(W));
  launch_kernel(fill_kernel<W>, dim3(detail::blocks_for(n)), dim3(detail::kThreads), 0, stream, n, bits, static_cast<W*>(out));
  detail::check_launch("fill");
}

}  // namespace

void copy(DType src_t, DType dst_t, const CopyParams& p, const void* src, void* dst, cudaStream_t stream) {
  if (p.n == 0) return;
  bool contiguous = p.src.contiguous() && p.dst.contiguous();
  if (src_t == dst_t && contiguous) {
    detail::check_call(cudaMemcpyAsync(dst, src, size_t(p.n) * dtype_size(src_t), cudaMemcpyDeviceToDevice, stream),
                       "copy", "cudaMemcpyAsync");
    return;
  }
  unsigned grid = detail::blocks_for(p.n);
  detail::any_switch(src_t, [&](auto s0) {
    using S = decltype(s0);
    detail::any_switch(dst_t, [&](auto d0) {
      using D = decltype(d0);
      auto s = static_cast<const S*>(src);
      auto d = static_cast<D*>(dst);
      if (contiguous)
        launch_kernel(copy_kernel<S, D, true>, dim3(grid), dim3(detail::kThreads), 0, stream, p, s, d);
      else
        launch_kernel(copy_kernel<S, D, false>, dim3(grid), dim3(detail::kThreads), 0, stream, p, s, d);
      detail::check_launch("copy");
    });
  });
}

void fill(DType t, int64_t n, double value, void* out, cudaStream_t stream) {
  if (n == 0) return;
  detail::any_switch(t, [&](auto zero) {
    using T = decltype(zero);
    T v = host_from_double<T>(value);  // the CPU fill's conversion, done once on the host
    switch (sizeof(T)) {
      case 1: launch_fill<uint8_t>(n, &v, out, stream); break;
      case 2: launch_fill<uint16_t>(n, &v, out, stream); break;
      case 4: launch_fill<uint32_t>(n, &v, out, stream); break;
      default: launch_fill<uint64_t>(n, &v, out, stream); break;
    }
  });
}

}  // namespace mtmap::cuda
