// Index kernels on (outer, D, inner) views (kernels/common/index.h). One thread per output element
// throughout:
//  - index_select / gather read one source element each;
//  - index_add / scatter_add are deterministic without atomics: the thread that owns out[o, d, n]
//    scans the indices in increasing position and adds every matching source element in that
//    order, exactly the CPU reference's accumulation order (so f32 and f64 results are bit-equal
//    to the CPU's). bf16 accumulates in float and rounds once.
// The cost of the accumulating kernels is (outputs × indices): fine for the backward of gathers
// on the sizes we train; a sort-based segmented version is the upgrade when it is not.
// Out-of-range indices are skipped (kernels cannot throw); the engine range-checks on the CPU.
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda {
namespace {

using detail::compute_t;
using detail::load;
using detail::store;

__device__ __forceinline__ int64_t first_index() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

// out (outer, I, inner) ← in (outer, D, inner) at idx (I)
template <class T>
__global__ void index_select_kernel(IndexSelectParams p, const T* __restrict__ in, const int64_t* __restrict__ idx,
                                    T* __restrict__ out) {
  int64_t total = p.outer * p.I * p.inner;
  for (int64_t at = first_index(); at < total; at += grid_stride()) {
    int64_t n = at % p.inner, i = (at / p.inner) % p.I, o = at / (p.inner * p.I);
    int64_t d = idx[i];
    if (d >= 0 && d < p.D) out[at] = in[(o * p.D + d) * p.inner + n];
  }
}

// out (outer, D, inner) += src (outer, I, inner) at idx (I)
template <class T>
__global__ void index_add_kernel(IndexAddParams p, const T* __restrict__ src, const int64_t* __restrict__ idx,
                                 T* __restrict__ out) {
  using A = compute_t<T>;
  int64_t total = p.outer * p.D * p.inner;
  for (int64_t at = first_index(); at < total; at += grid_stride()) {
    int64_t n = at % p.inner, d = (at / p.inner) % p.D, o = at / (p.inner * p.D);
    A acc = load(out[at]);
    for (int64_t i = 0; i < p.I; ++i)
      if (idx[i] == d) acc += load(src[(o * p.I + i) * p.inner + n]);
    out[at] = store<T>(acc);
  }
}

// out (outer, J, inner) ← in (outer, D, inner) at idx (outer, J, inner)
template <class T>
__global__ void gather_kernel(GatherParams p, const T* __restrict__ in, const int64_t* __restrict__ idx,
                              T* __restrict__ out) {
  int64_t total = p.outer * p.J * p.inner;
  for (int64_t at = first_index(); at < total; at += grid_stride()) {
    int64_t n = at % p.inner, o = at / (p.inner * p.J);
    int64_t d = idx[at];
    if (d >= 0 && d < p.D) out[at] = in[(o * p.D + d) * p.inner + n];
  }
}

// out (outer, D, inner) += src (outer, J, inner) at idx (outer, J, inner)
template <class T>
__global__ void scatter_add_kernel(GatherParams p, const T* __restrict__ src, const int64_t* __restrict__ idx,
                                   T* __restrict__ out) {
  using A = compute_t<T>;
  int64_t total = p.outer * p.D * p.inner;
  for (int64_t at = first_index(); at < total; at += grid_stride()) {
    int64_t n = at % p.inner, d = (at / p.inner) % p.D, o = at / (p.inner * p.D);
    A acc = load(out[at]);
    for (int64_t j = 0; j < p.J; ++j) {
      int64_t from = (o * p.J + j) * p.inner + n;
      if (idx[from] == d) acc += load(src[from]);
    }
    out[at] = store<T>(acc);
  }
}

}  // namespace

void index_select(DType t, const IndexSelectParams& p, const void* in, const int64_t* idx, void* out,
                  cudaStream_t stream) {
  int64_t total = p.outer * p.I * p.inner;
  if (total == 0) return;
  detail::float_switch("index_select", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(index_select_kernel<T>, dim3(detail::blocks_for(total)), dim3(detail::kThreads), 0, stream, p, static_cast<const T*>(in), idx, static_cast<T*>(out));
    detail::check_launch("index_select");
  });
}

void index_add(DType t, const IndexAddParams& p, const void* src, const int64_t* idx, void* out, cudaStream_t stream) {
  int64_t total = p.outer * p.D * p.inner;
  if (total == 0 || p.I == 0) return;
  detail::float_switch("index_add", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(index_add_kernel<T>, dim3(detail::blocks_for(total)), dim3(detail::kThreads), 0, stream, p, static_cast<const T*>(src), idx, static_cast<T*>(out));
    detail::check_launch("index_add");
  });
}

void gather(DType t, const GatherParams& p, const void* in, const int64_t* idx, void* out, cudaStream_t stream) {
  int64_t total = p.outer * p.J * p.inner;
  if (total == 0) return;
  detail::float_switch("gather", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(gather_kernel<T>, dim3(detail::blocks_for(total)), dim3(detail::kThreads), 0, stream, p, static_cast<const T*>(in), idx, static_cast<T*>(out));
    detail::check_launch("gather");
  });
}

void scatter_add(DType t, const GatherParams& p, const void* src, const int64_t* idx, void* out, cudaStream_t stream) {
  int64_t total = p.outer * p.D * p.inner;
  if (total == 0 || p.J == 0) return;
  detail::float_switch("scatter_add", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(scatter_add_kernel<T>, dim3(detail::blocks_for(total)), dim3(detail::kThreads), 0, stream, p, static_cast<const T*>(src), idx, static_cast<T*>(out));
    detail::check_launch("scatter_add");
  });
}

}  // namespace mtmap::cuda
