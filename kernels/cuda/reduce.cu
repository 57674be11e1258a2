// Row reductions (sum, mean, max, min, var) and the softmax family on a contiguous (rows, cols)
// view. Two launcher branches, picked from cols alone:
//  - cols <= kWarpMaxCols: one warp per row (8 rows per block): no shared memory, no barriers;
//  - longer rows: one 256-thread block per row, warp partials combined through shared memory.
// Each thread accumulates a strided slice of its row sequentially, then partials are combined by
// a fixed shuffle tree: the summation order depends only on (rows, cols), so results are
// deterministic run to run (no atomics). f32 and bf16 accumulate in float, f64 in double (the CPU
// reference accumulates in double; the parity tests' tolerances absorb the difference).
// max/min use fmax/fmin like the CPU, so NaNs are skipped the same way.
#include <cmath>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda {
namespace {

using detail::compute_t;
using detail::load;
using detail::store;

inline constexpr int64_t kWarpMaxCols = 1024;
inline constexpr int kWarpsPerBlock = detail::kThreads / 32;
inline constexpr unsigned kFullMask = 0xffffffffu;

enum class Combine { sum, max, min };

template <class A>
__device__ __forceinline__ A combine(Combine c, A x, A y) {
  switch (c) {
    case Combine::sum: return x + y;
    case Combine::max: return fmax(x, y);
    case Combine::min: return fmin(x, y);
  }
  return x;
}

template <class A>
__device__ __forceinline__ A identity(Combine c) {
  return c == Combine::max ? A(-INFINITY) : (c == Combine::min ? A(INFINITY) : A(0));
}

// Tree over the warp's lanes (lane 0 ends with the full result), then broadcast from lane 0 so
// every lane uses the identical value (a xor butterfly would give each lane its own rounding).
template <class A>
__device__ __forceinline__ A warp_allreduce(Combine c, A v) {
  for (int offset = 16; offset > 0; offset /= 2) v = combine(c, v, __shfl_down_sync(kFullMask, v, offset));
  return __shfl_sync(kFullMask, v, 0);
}

// A group of threads that cooperates on one row.
struct WarpGroup {
  __device__ int lane() const { return int(threadIdx.x % 32); }
  __device__ int size() const { return 32; }
  template <class A>
  __device__ A allreduce(Combine c, A v) const {
    return warp_allreduce(c, v);
  }
};

struct BlockGroup {
  __device__ int lane() const { return int(threadIdx.x); }
  __device__ int size() const { return int(blockDim.x); }
  template <class A>
  __device__ A allreduce(Combine c, A v) const {
    __shared__ A partial[32];
    int warp = int(threadIdx.x / 32), warps = int(blockDim.x / 32);
    v = warp_allreduce(c, v);
    if (threadIdx.x % 32 == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
      A w = int(threadIdx.x) < warps ? partial[threadIdx.x] : identity<A>(c);
      w = warp_allreduce(c, w);
      if (threadIdx.x == 0) partial[0] = w;
    }
    __syncthreads();
    A result = partial[0];
    __syncthreads();  // partial[] is reused by the next call
    return result;
  }
};

template <class T, class G>
__device__ compute_t<T> row_sum(const T* row, int64_t cols, G g) {
  using A = compute_t<T>;
  A s = 0;
  for (int64_t c = g.lane(); c < cols; c += g.size()) s += A(load(row[c]));
  return g.allreduce(Combine::sum, s);
}

template <class T, class G>
__device__ compute_t<T> row_extreme(Combine which, const T* row, int64_t cols, G g) {
  using A = compute_t<T>;
  A m = identity<A>(which);
  for (int64_t c = g.lane(); c < cols; c += g.size()) m = combine(which, m, A(load(row[c])));
  return g.allreduce(which, m);
}

template <class T, class G>
__device__ void reduce_row(const ReduceParams& p, const T* row, T* out, G g) {
  using A = compute_t<T>;
  A result = 0;
  switch (p.op) {
    case ReduceOp::sum: result = row_sum(row, p.cols, g); break;
    case ReduceOp::mean: result = row_sum(row, p.cols, g) / A(p.cols); break;
    case ReduceOp::max: result = row_extreme(Combine::max, row, p.cols, g); break;
    case ReduceOp::min: result = row_extreme(Combine::min, row, p.cols, g); break;
    case ReduceOp::var: {
      // Two passes (mean, then squared deviations), as the CPU does: no cancellation.
      A mean = row_sum(row, p.cols, g) / A(p.cols);
      A s = 0;
      for (int64_t c = g.lane(); c < p.cols; c += g.size()) {
        A d = A(load(row[c])) - mean;
        s += d * d;
      }
      result = g.allreduce(Combine::sum, s) / (A(p.cols) - A(p.correction));
      break;
    }
  }
  if (g.lane() == 0) *out = store<T>(result);
}

template <class T, class G>
__device__ void row_op_row(const RowParams& p, const T* row, T* out_row, T* out_scalar, G g) {
  using A = compute_t<T>;
  using std::exp;
  using std::log;
  A mx = row_extreme(Combine::max, row, p.cols, g);
  A s = 0;
  for (int64_t c = g.lane(); c < p.cols; c += g.size()) s += exp(A(load(row[c])) - mx);
  s = g.allreduce(Combine::sum, s);
  switch (p.op) {
    case RowOp::softmax:
      for (int64_t c = g.lane(); c < p.cols; c += g.size()) out_row[c] = store<T>(exp(A(load(row[c])) - mx) / s);
      break;
    case RowOp::log_softmax: {
      A lse = mx + log(s);
      for (int64_t c = g.lane(); c < p.cols; c += g.size()) out_row[c] = store<T>(A(load(row[c])) - lse);
      break;
    }
    case RowOp::logsumexp:
      if (g.lane() == 0) *out_scalar = store<T>(mx + log(s));
      break;
  }
}

// Warp-per-row kernels: warp w of block b takes rows b*8 + w, then strides by the grid's warps.
// Every lane of a warp has the same row, so the shuffles see the full warp.
template <class T>
__global__ void reduce_warp_kernel(ReduceParams p, const T* __restrict__ in, T* __restrict__ out) {
  int64_t step = int64_t(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; r < p.rows; r += step)
    reduce_row(p, in + r * p.cols, out + r, WarpGroup{});
}

template <class T>
__global__ void reduce_block_kernel(ReduceParams p, const T* __restrict__ in, T* __restrict__ out) {
  for (int64_t r = blockIdx.x; r < p.rows; r += gridDim.x) reduce_row(p, in + r * p.cols, out + r, BlockGroup{});
}

template <class T>
__global__ void row_op_warp_kernel(RowParams p, const T* __restrict__ in, T* __restrict__ out) {
  int64_t step = int64_t(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; r < p.rows; r += step)
    row_op_row(p, in + r * p.cols, out + r * p.cols, out + r, WarpGroup{});
}

template <class T>
__global__ void row_op_block_kernel(RowParams p, const T* __restrict__ in, T* __restrict__ out) {
  for (int64_t r = blockIdx.x; r < p.rows; r += gridDim.x)
    row_op_row(p, in + r * p.cols, out + r * p.cols, out + r, BlockGroup{});
}

}  // namespace

void reduce(DType t, const ReduceParams& p, const void* in, void* out, cudaStream_t stream) {
  if (p.rows == 0) return;
  detail::float_switch("reduce", t, [&](auto zero) {
    using T = decltype(zero);
    auto x = static_cast<const T*>(in);
    auto y = static_cast<T*>(out);
    if (p.cols <= kWarpMaxCols)
      launch_kernel(reduce_warp_kernel<T>, dim3(detail::blocks_for(p.rows, kWarpsPerBlock)), dim3(detail::kThreads), 0, stream, p, x, y);
    else
      launch_kernel(reduce_block_kernel<T>, dim3(detail::blocks_for(p.rows, 1)), dim3(detail::kThreads), 0, stream, p, x, y);
    detail::check_launch("reduce");
  });
}

void row_op(DType t, const RowParams& p, const void* in, void* out, cudaStream_t stream) {
  if (p.rows == 0 || p.cols == 0) return;
  detail::float_switch("row_op", t, [&](auto zero) {
    using T = decltype(zero);
    auto x = static_cast<const T*>(in);
    auto y = static_cast<T*>(out);
    if (p.cols <= kWarpMaxCols)
      launch_kernel(row_op_warp_kernel<T>, dim3(detail::blocks_for(p.rows, kWarpsPerBlock)), dim3(detail::kThreads), 0, stream, p, x, y);
    else
      launch_kernel(row_op_block_kernel<T>, dim3(detail::blocks_for(p.rows, 1)), dim3(detail::kThreads), 0, stream, p, x, y);
    detail::check_launch("row_op");
  });
}

}  // namespace mtmap::cuda
