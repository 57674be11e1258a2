// Index kernels on (outer, D, inner) views (kernels/common/index.h). One thread per output element
// throughout:
//  - index_select / gather read one source element each;
//  - index_add / scatter_add are deterministic without float atomics: the thread that owns out[o, d, n]
//    scans the indices in increasing position and adds every matching source element in that
//    order, exactly the CPU reference's accumulation order (so f32 and f64 results are bit-equal
//    to the CPU's). bf16 accumulates in float and rounds once.
// The cost of the accumulating kernels is (outputs × indices): fine for the backward of gathers
// on the sizes we train; a sort-based segmented version is the upgrade when it is not.
// Out-of-range indices: a kernel cannot throw, so it reads nothing at a bad index (select and
// gather leave that output as initialised; the accumulating kernels never match it) and records
// the lowest-positioned bad index of the first launch that meets one in the caller's
// IndexErrorRecord (kernels/common/index_error.h), which the engine turns into an mtmap::Error at
// its next synchronisation: the same index the CPU check names, whatever order threads run in. The check costs a compare on
// the path every thread already takes; nothing is synchronised for it.
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda {
namespace {

using detail::compute_t;
using detail::load;
using detail::store;

__device__ __forceinline__ int64_t first_index() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

// One compare covers both ends: a negative index is a huge unsigned one.
__device__ __forceinline__ bool out_of_range(int64_t d, int64_t D) { return uint64_t(d) >= uint64_t(D); }

// The first launch to meet a bad index claims the record with its launch number; later launches
// (until the host has reported and reset it) leave it alone. Within the owning launch a spin lock
// makes compare-and-write one step, so the record ends with the lowest position and the value
// found there together (threads meeting the same position write the same value). The lock is
// taken only on the error path, and only by threads that can make progress independently
// (sm_70 and later). The host reads the record after synchronising the stream.
__device__ void record_bad_index(IndexErrorSlot slot, IndexOp op, int64_t position, int64_t value, int64_t bound) {
  IndexErrorRecord* r = slot.record;
  int owner = atomicCAS(&r->claimed, 0, slot.launch);
  if (owner != 0 && owner != slot.launch) return;
  while (atomicCAS(&r->lock, 0, 1) != 0) {
  }
  __threadfence();
  volatile IndexErrorRecord* v = r;
  if (v->op == 0 || position < v->position) {
    v->op = int32_t(op);
    v->position = position;
    v->value = value;
    v->bound = bound;
  }
  __threadfence();
  atomicCAS(&r->lock, 1, 0);
}

// out (outer, I, inner) ← in (outer, D, inner) at idx (I)
template <class T>
__global__ void index_select_kernel(IndexSelectParams p, const T* __restrict__ in, const int64_t* __restrict__ idx,
                                    T* __restrict__ out, IndexErrorSlot errors) {
  int64_t total = p.outer * p.I * p.inner;
  for (int64_t at = first_index(); at < total; at += grid_stride()) {
    int64_t n = at % p.inner, i = (at / p.inner) % p.I, o = at / (p.inner * p.I);
    int64_t d = idx[i];
    if (out_of_range(d, p.D))
      record_bad_index(errors, IndexOp::index_select, i, d, p.D);
    else
      out[at] = in[(o * p.D + d) * p.inner + n];
  }
}

// out (outer, D, inner) += src (outer, I, inner) at idx (I). Every thread scans all of idx in
// increasing position.
template <class T>
__global__ void index_add_kernel(IndexAddParams p, const T* __restrict__ src, const int64_t* __restrict__ idx,
                                 T* __restrict__ out, IndexErrorSlot errors) {
  using A = compute_t<T>;
  int64_t total = p.outer * p.D * p.inner;
  for (int64_t at = first_index(); at < total; at += grid_stride()) {
    int64_t n = at % p.inner, d = (at / p.inner) % p.D, o = at / (p.inner * p.D);
    A acc = load(out[at]);
    for (int64_t i = 0; i < p.I; ++i) {
      int64_t di = idx[i];
      if (di == d)
        acc += load(src[(o * p.I + i) * p.inner + n]);
      else if (out_of_range(di, p.D))
        record_bad_index(errors, IndexOp::index_add, i, di, p.D);
    }
    out[at] = store<T>(acc);
  }
}

// out (outer, J, inner) ← in (outer, D, inner) at idx (outer, J, inner)
template <class T>
__global__ void gather_kernel(GatherParams p, const T* __restrict__ in, const int64_t* __restrict__ idx,
                              T* __restrict__ out, IndexErrorSlot errors) {
  int64_t total = p.outer * p.J * p.inner;
  for (int64_t at = first_index(); at < total; at += grid_stride()) {
    int64_t n = at % p.inner, o = at / (p.inner * p.J);
    int64_t d = idx[at];
    if (out_of_range(d, p.D))
      record_bad_index(errors, IndexOp::gather, at, d, p.D);
    else
      out[at] = in[(o * p.D + d) * p.inner + n];
  }
}

// out (outer, D, inner) += src (outer, J, inner) at idx (outer, J, inner)
template <class T>
__global__ void scatter_add_kernel(GatherParams p, const T* __restrict__ src, const int64_t* __restrict__ idx,
                                   T* __restrict__ out, IndexErrorSlot errors) {
  using A = compute_t<T>;
  int64_t total = p.outer * p.D * p.inner;
  for (int64_t at = first_index(); at < total; at += grid_stride()) {
    int64_t n = at % p.inner, d = (at / p.inner) % p.D, o = at / (p.inner * p.D);
    A acc = load(out[at]);
    for (int64_t j = 0; j < p.J; ++j) {
      int64_t from = (o * p.J + j) * p.inner + n;
      int64_t dj = idx[from];
      if (dj == d)
        acc += load(src[from]);
      else if (out_of_range(dj, p.D))
        record_bad_index(errors, IndexOp::scatter_add, from, dj, p.D);
    }
    out[at] = store<T>(acc);
  }
}

// The range check alone, for a launch with no outputs but indices (an empty outer or inner
// extent; D == 0 for the accumulating ops): the CPU check sees those indices too.
__global__ void check_index_kernel(IndexOp op, const int64_t* __restrict__ idx, int64_t n, int64_t bound,
                                   IndexErrorSlot errors) {
  for (int64_t at = first_index(); at < n; at += grid_stride())
    if (out_of_range(idx[at], bound)) record_bad_index(errors, op, at, idx[at], bound);
}

void check_only(IndexOp op, const int64_t* idx, int64_t n, int64_t bound, IndexErrorSlot errors,
                cudaStream_t stream) {
  if (n == 0) return;
  launch_kernel(check_index_kernel, dim3(detail::blocks_for(n)), dim3(detail::kThreads), 0, stream, op, idx, n, bound,
                errors);
  detail::check_launch(index_op_name(int32_t(op)));
}

}  // namespace

void index_select(DType t, const IndexSelectParams& p, const void* in, const int64_t* idx, void* out,
                  IndexErrorSlot errors, cudaStream_t stream) {
  int64_t total = p.outer * p.I * p.inner;
  if (total == 0) return check_only(IndexOp::index_select, idx, p.I, p.D, errors, stream);
  detail::float_switch("index_select", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(index_select_kernel<T>, dim3(detail::blocks_for(total)), dim3(detail::kThreads), 0, stream, p, static_cast<const T*>(in), idx, static_cast<T*>(out), errors);
    detail::check_launch("index_select");
  });
}

void index_add(DType t, const IndexAddParams& p, const void* src, const int64_t* idx, void* out,
               IndexErrorSlot errors, cudaStream_t stream) {
  int64_t total = p.outer * p.D * p.inner;
  if (total == 0) return check_only(IndexOp::index_add, idx, p.I, p.D, errors, stream);
  if (p.I == 0) return;
  detail::float_switch("index_add", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(index_add_kernel<T>, dim3(detail::blocks_for(total)), dim3(detail::kThreads), 0, stream, p, static_cast<const T*>(src), idx, static_cast<T*>(out), errors);
    detail::check_launch("index_add");
  });
}

void gather(DType t, const GatherParams& p, const void* in, const int64_t* idx, void* out,
            IndexErrorSlot errors, cudaStream_t stream) {
  int64_t total = p.outer * p.J * p.inner;
  if (total == 0) return;  // and so is the index
  detail::float_switch("gather", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(gather_kernel<T>, dim3(detail::blocks_for(total)), dim3(detail::kThreads), 0, stream, p, static_cast<const T*>(in), idx, static_cast<T*>(out), errors);
    detail::check_launch("gather");
  });
}

void scatter_add(DType t, const GatherParams& p, const void* src, const int64_t* idx, void* out,
                 IndexErrorSlot errors, cudaStream_t stream) {
  int64_t total = p.outer * p.D * p.inner;
  if (total == 0) return check_only(IndexOp::scatter_add, idx, p.outer * p.J * p.inner, p.D, errors, stream);
  if (p.J == 0) return;
  detail::float_switch("scatter_add", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(scatter_add_kernel<T>, dim3(detail::blocks_for(total)), dim3(detail::kThreads), 0, stream, p, static_cast<const T*>(src), idx, static_cast<T*>(out), errors);
    detail::check_launch("scatter_add");
  });
}

}  // namespace mtmap::cuda
