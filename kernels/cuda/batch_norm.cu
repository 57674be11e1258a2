// Batch norm on CUDA over an (N, C, S) view: training statistics, eval statistics, the apply pass
// (with the fused ReLU) and the backward pass.
//
// Reductions (statistics, gradient sums) run in two deterministic stages, no atomics:
//  1. grid (C, chunks): block (c, k) sums a fixed slice of channel c's N·S values in double and
//     writes its partial to the workspace (fixed shuffle tree inside the block);
//  2. one warp per channel adds that channel's partials in chunk order and finishes the channel.
// The summation order depends on the shape alone, so results repeat bit for bit. Chunks hold at
// least kChunkMin values (16 per thread) and there are at most kMaxChunks per channel, so stage 2
// stays tiny while stage 1 has enough blocks to fill the GPU even at small C.
//
// Statistics are sums of d = x − K and d² with K the channel's first value (a shifted data
// estimate): one read of x instead of the CPU's two passes, and no catastrophic cancellation as
// long as the mean is within a few standard deviations of one sample, which any sample is for the
// activations a network produces. Sums are in double on every dtype: Hopper runs double at half
// the float rate, far above what a memory-bound pass needs.
// Backward reads (x, dy) once where the grid can hold them: one cooperative kernel keeps each
// thread's kHold values in registers across a grid-wide barrier between the sums and dx (layers
// whose activations fit on the chip: the later ResNet stages at training batch sizes, and every
// small problem, where three launches would cost more than the data). Otherwise two passes:
// the sums, then dx.
#include <cmath>
#include <utility>

#include "kernels/cuda/exact_math.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/batch_norm.h"

namespace mtmap::cuda {
namespace {

using detail::compute_t;
using detail::load;
using detail::store;

inline constexpr int64_t kChunkMin = int64_t(detail::kThreads) * 16;
inline constexpr int64_t kMaxChunks = 1024;
inline constexpr unsigned kFullMask = 0xffffffffu;

struct Chunking {
  int64_t count = 0;   // values per channel, N·S
  int64_t len = 0;     // values per chunk (the last one may be shorter)
  int64_t chunks = 0;  // chunks per channel
};

Chunking chunking(const BatchNormShape& s) {
  Chunking k;
  k.count = s.N * s.S;
  k.len = std::max(kChunkMin, (k.count + kMaxChunks - 1) / kMaxChunks);
  k.chunks = std::max<int64_t>(1, (k.count + k.len - 1) / k.len);
  return k;
}

__device__ __forceinline__ double warp_sum(double v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(kFullMask, v, offset);
  return v;  // complete in lane 0
}

// Sums a and b over the block; the totals are valid in thread 0 only. Fixed tree: deterministic.
// pa, pb: 32 doubles each of shared memory.
__device__ void block_sum2_in(double& a, double& b, double* pa, double* pb) {
  const int warp = int(threadIdx.x / 32), lane = int(threadIdx.x % 32), warps = int(blockDim.x / 32);
  a = warp_sum(a);
  b = warp_sum(b);
  if (lane == 0) pa[warp] = a, pb[warp] = b;
  __syncthreads();
  if (warp == 0) {
    a = lane < warps ? pa[lane] : 0.0;
    b = lane < warps ? pb[lane] : 0.0;
    a = warp_sum(a);
    b = warp_sum(b);
  }
  __syncthreads();  // pa/pb are reused by the next chunk of a grid-stride loop
}
__device__ void block_sum2(double& a, double& b) {
  __shared__ double pa[32], pb[32];
  block_sum2_in(a, b, pa, pb);
}

// Calls f(element offset) for the values [begin, end) of channel c, flattened as j = n·S + i, each
// thread taking every blockDim-th one. n and i advance without a division per value.
template <class F>
__device__ void for_channel_slice(const BatchNormShape& s, int64_t c, int64_t begin, int64_t end, F&& f) {
  int64_t j = begin + threadIdx.x;
  if (j >= end) return;
  int64_t n = j / s.S, i = j - n * s.S;
  const int64_t step = blockDim.x;
  for (; j < end; j += step) {
    f((n * s.C + c) * s.S + i);
    i += step;
    if (i >= s.S) {
      n += i / s.S;
      i %= s.S;
    }
  }
}

// Stage 1 of the statistics: partial Σd and Σd² (d = x − K) per (channel, chunk).
template <class T>
__global__ void stats_partial_kernel(BatchNormShape s, Chunking k, const T* __restrict__ x,
                                     double* __restrict__ partial) {
  const int64_t c = blockIdx.x, chunk = blockIdx.y;
  const double shift = double(load(x[c * s.S]));  // value (n = 0, i = 0) of the channel
  const int64_t begin = chunk * k.len, end = std::min(begin + k.len, k.count);
  double s1 = 0, s2 = 0;
  for_channel_slice(s, c, begin, end, [&](int64_t at) {
    double d = double(load(x[at])) - shift;
    s1 += d;
    s2 += d * d;
  });
  block_sum2(s1, s2);
  if (threadIdx.x == 0) {
    partial[c * k.chunks + chunk] = s1;
    partial[(s.C + c) * k.chunks + chunk] = s2;
  }
}

// Stage 2: one warp per channel adds the channel's partials (chunk order), then lane 0 finishes.
__device__ void sum_partials(const double* partial, int64_t C, int64_t c, int64_t chunks, double& a, double& b) {
  a = 0, b = 0;
  for (int64_t j = threadIdx.x; j < chunks; j += 32) {
    a += partial[c * chunks + j];
    b += partial[(C + c) * chunks + j];
  }
  a = warp_sum(a);
  b = warp_sum(b);
}

template <class T, class P>
__global__ void stats_finish_kernel(BatchNormShape s, Chunking k, const T* __restrict__ x,
                                    const double* __restrict__ partial, double eps, double momentum,
                                    P* __restrict__ running_mean, P* __restrict__ running_var, double* __restrict__ mean,
                                    double* __restrict__ invstd) {
  const int64_t c = blockIdx.x;
  double s1, s2;
  sum_partials(partial, s.C, c, k.chunks, s1, s2);
  if (threadIdx.x != 0) return;
  const double count = double(k.count), shift = double(load(x[c * s.S]));
  const double m1 = s1 / count;
  const double var = fmax(0.0, s2 / count - m1 * m1);
  const double mu = shift + m1;
  mean[c] = mu;
  invstd[c] = 1.0 / sqrt(var + eps);
  // As the CPU op: in double, then rounded to the buffer's dtype; unbiased variance (PyTorch).
  running_mean[c] = store<P>(compute_t<P>((1 - momentum) * double(load(running_mean[c])) + momentum * mu));
  running_var[c] =
      store<P>(compute_t<P>((1 - momentum) * double(load(running_var[c])) + momentum * var * count / (count - 1)));
}

template <class P>
__global__ void eval_stats_kernel(int64_t C, double eps, const P* __restrict__ running_mean,
                                  const P* __restrict__ running_var, double* __restrict__ mean,
                                  double* __restrict__ invstd) {
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x) {
    mean[c] = double(load(running_mean[c]));
    invstd[c] = 1.0 / sqrt(double(load(running_var[c])) + eps);
  }
}

template <class T, class P>
__global__ void apply_kernel(BatchNormShape s, const T* __restrict__ x, const double* __restrict__ mean,
                             const double* __restrict__ invstd, const P* __restrict__ gamma, const P* __restrict__ beta,
                             bool relu, T* __restrict__ y) {
  using A = compute_t<T>;
  const int64_t total = s.N * s.C * s.S;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = (e / s.S) % s.C;
    // The CPU kernel's coefficients: computed in double, rounded once to the compute type.
    const double g = double(load(gamma[c]));
    const A a = A(g * invstd[c]);
    const A b = A(double(load(beta[c])) - g * invstd[c] * mean[c]);
    A v = detail::add_rn(detail::mul_rn(a, A(load(x[e]))), b);  // no FMA: the CPU's rounding
    if (relu) v = !(v <= A(0)) ? v : A(0);  // NaN passes, as in the elementwise ReLU
    y[e] = store<T>(v);
  }
}

// The gradient seen by the batch norm: dy, or 0 where the fused ReLU cut the output (y ≤ 0).
template <class T>
__device__ __forceinline__ double masked_dy(const T* y_relu, const T* dy, int64_t at) {
  if (y_relu != nullptr && !(load(y_relu[at]) > compute_t<T>(0))) return 0.0;
  return double(load(dy[at]));
}

// Stage 1 of backward: partial Σdy and Σdy·(x − mean) per (channel, chunk).
template <class T>
__global__ void backward_partial_kernel(BatchNormShape s, Chunking k, const T* __restrict__ x,
                                        const T* __restrict__ y_relu, const T* __restrict__ dy,
                                        const double* __restrict__ mean, double* __restrict__ partial) {
  const int64_t c = blockIdx.x, chunk = blockIdx.y;
  const double mu = mean[c];
  const int64_t begin = chunk * k.len, end = std::min(begin + k.len, k.count);
  double s1 = 0, s2 = 0;
  for_channel_slice(s, c, begin, end, [&](int64_t at) {
    double g = masked_dy(y_relu, dy, at);
    s1 += g;
    s2 += g * (double(load(x[at])) - mu);
  });
  block_sum2(s1, s2);
  if (threadIdx.x == 0) {
    partial[c * k.chunks + chunk] = s1;
    partial[(s.C + c) * k.chunks + chunk] = s2;
  }
}

// Stage 2: dgamma = Σdy·x̂, dbeta = Σdy; the dx coefficients mean(dy), mean(dy·x̂) (0 in eval).
template <class P>
__global__ void backward_finish_kernel(BatchNormShape s, Chunking k, bool training, const double* __restrict__ partial,
                                       const double* __restrict__ invstd, P* __restrict__ dgamma,
                                       P* __restrict__ dbeta, double* __restrict__ coef) {
  const int64_t c = blockIdx.x;
  double sum_dy, sum_dy_xm;
  sum_partials(partial, s.C, c, k.chunks, sum_dy, sum_dy_xm);
  if (threadIdx.x != 0) return;
  const double sum_dy_xhat = sum_dy_xm * invstd[c];
  if (dgamma != nullptr) dgamma[c] = store<P>(compute_t<P>(sum_dy_xhat));
  if (dbeta != nullptr) dbeta[c] = store<P>(compute_t<P>(sum_dy));
  const double count = double(k.count);
  coef[c] = training ? sum_dy / count : 0.0;
  coef[s.C + c] = training ? sum_dy_xhat / count : 0.0;
}

// dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)), in the compute type.
template <class T, class P>
__global__ void backward_dx_kernel(BatchNormShape s, const T* __restrict__ x, const T* __restrict__ y_relu,
                                   const T* __restrict__ dy, const double* __restrict__ mean,
                                   const double* __restrict__ invstd, const P* __restrict__ gamma,
                                   const double* __restrict__ coef, T* __restrict__ dx) {
  using A = compute_t<T>;
  const int64_t total = s.N * s.C * s.S;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = (e / s.S) % s.C;
    const A g = A(double(load(gamma[c])) * invstd[c]);
    const A xhat = (A(load(x[e])) - A(mean[c])) * A(invstd[c]);
    const A d = A(masked_dy(y_relu, dy, e));
    dx[e] = store<T>(g * (d - A(coef[c]) - xhat * A(coef[s.C + c])));
  }
}

// ---- backward in one pass (cooperative) -------------------------------------------------------
inline constexpr int kHold = 8;  // values of x and dy each thread keeps between the two phases
inline constexpr int64_t kOnePassChunk = int64_t(detail::kThreads) * kHold;
inline constexpr size_t kOnePassSmem = (2 * 32 + 2) * sizeof(double);  // block_sum2 and the two totals

int64_t one_pass_chunks(const BatchNormShape& s) { return (s.N * s.S + kOnePassChunk - 1) / kOnePassChunk; }

// Block b takes chunk b % chunks of channel b / chunks (kOnePassChunk values, thread t the values
// t, t + 256, ...). Phase 1: partial Σdy, Σdy·(x − mean) of the chunk to `partial`; grid barrier;
// phase 2: every block adds its channel's partials in chunk order (the same sum in each: the
// channel's blocks agree bit for bit), chunk 0 writes dgamma and dbeta, and dx comes from the
// values still in registers, with the two-pass kernel's formula.
template <class T, class P>
__global__ void __launch_bounds__(detail::kThreads)
    backward_one_pass_kernel(BatchNormShape s, int64_t chunks, bool training, const T* __restrict__ x,
                             const T* __restrict__ y_relu, const T* __restrict__ dy, const double* __restrict__ mean,
                             const double* __restrict__ invstd, const P* __restrict__ gamma, T* __restrict__ dx,
                             P* __restrict__ dgamma, P* __restrict__ dbeta, double* __restrict__ partial) {
  using A = compute_t<T>;
  MTMAP_DYNAMIC_SMEM(double, red);  // [0, 32) and [32, 64): block_sum2; 64, 65: the channel's sums
  const int64_t c = blockIdx.x / chunks, chunk = blockIdx.x % chunks;
  const int64_t count = s.N * s.S;
  const double mu = mean[c];
  A xv[kHold], gv[kHold];
  int64_t at[kHold];
  double s1 = 0, s2 = 0;
#pragma unroll
  for (int h = 0; h < kHold; ++h) {
    const int64_t j = chunk * kOnePassChunk + int64_t(h) * blockDim.x + threadIdx.x;
    at[h] = -1;
    xv[h] = gv[h] = A(0);
    if (j < count) {
      const int64_t n = j / s.S, i = j - n * s.S;
      at[h] = (n * s.C + c) * s.S + i;
      xv[h] = load(x[at[h]]);
      gv[h] = A(masked_dy(y_relu, dy, at[h]));
      s1 += double(gv[h]);
      s2 += double(gv[h]) * (double(xv[h]) - mu);
    }
  }
  block_sum2_in(s1, s2, red, red + 32);
  if (threadIdx.x == 0) {
    partial[c * chunks + chunk] = s1;
    partial[(s.C + c) * chunks + chunk] = s2;
  }
  MTMAP_GRID_SYNC();
  if (threadIdx.x < 32) {
    double a, b;
    sum_partials(partial, s.C, c, chunks, a, b);
    if (threadIdx.x == 0) red[64] = a, red[65] = b;
  }
  __syncthreads();
  const double sum_dy = red[64], sum_dy_xhat = red[65] * invstd[c];
  if (chunk == 0 && threadIdx.x == 0) {
    if (dgamma != nullptr) dgamma[c] = store<P>(compute_t<P>(sum_dy_xhat));
    if (dbeta != nullptr) dbeta[c] = store<P>(compute_t<P>(sum_dy));
  }
  if (dx == nullptr) return;
  const double n_values = double(count);
  const A c0 = A(training ? sum_dy / n_values : 0.0), c1 = A(training ? sum_dy_xhat / n_values : 0.0);
  const A g = A(double(load(gamma[c])) * invstd[c]);
#pragma unroll
  for (int h = 0; h < kHold; ++h) {
    if (at[h] < 0) continue;
    const A xhat = (xv[h] - A(mean[c])) * A(invstd[c]);
    dx[at[h]] = store<T>(g * (gv[h] - c0 - xhat * c1));
  }
}

// How many one-pass blocks device `dev` holds resident at once (0: no cooperative launches),
// asked of the driver on every call: the caller keeps the answer (the engine's device context).
template <class T, class P>
int64_t one_pass_capacity(int dev) {
  int coop = 0, sms = 0, per_sm = 0;
  if (cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, dev) == cudaSuccess && coop &&
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) == cudaSuccess &&
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, backward_one_pass_kernel<T, P>, detail::kThreads,
                                                    kOnePassSmem) == cudaSuccess)
    return int64_t(per_sm) * sms;
  (void)cudaGetLastError();  // a refusal is an answer (two passes), not an error for the next check
  return 0;
}

// Whether a GPU that holds `capacity` one-pass blocks resident runs the one-pass grid (C · chunks).
bool one_pass_fits(const BatchNormShape& s, int64_t capacity) { return s.C * one_pass_chunks(s) <= capacity; }

void check_shape(const char* launcher, const BatchNormShape& s) {
  if (s.N < 1 || s.C < 1 || s.S < 1)
    throw std::invalid_argument(std::string("cuda launcher ") + launcher + ": empty shape (N " + std::to_string(s.N) +
                                ", C " + std::to_string(s.C) + ", S " + std::to_string(s.S) + ")");
}

// The grid of the reductions: channels on x (no 65535 limit), chunks (≤ kMaxChunks) on y.
dim3 partial_grid(const BatchNormShape& s, const Chunking& k) { return dim3(unsigned(s.C), unsigned(k.chunks)); }

// Runs f(T{}, P{}) for input dtype t and parameter dtype pt: the same dtype, or f32 parameters
// (γ, β, the running statistics and their gradients) for a bf16 input (mixed precision).
template <class F>
void bn_switch(const char* launcher, DType t, DType pt, F&& f) {
  if (t == DType::bf16 && pt == DType::f32) {
    f(BFloat16{}, float{});
    return;
  }
  if (pt != t)
    throw std::invalid_argument(std::string("cuda launcher ") + launcher + ": a " + dtype_name(t) +
                                " input with " + dtype_name(pt) +
                                " parameters (they share the input's dtype, or are f32 for a bf16 input)");
  detail::float_switch(launcher, t, [&](auto zero) { f(zero, zero); });
}

}  // namespace

size_t bn_workspace_bytes(const BatchNormShape& s) {
  // Partials (2 per chunk per channel, chunks of either backward's size) and the two-pass
  // backward's two coefficients per channel.
  const int64_t chunks = std::max(chunking(s).chunks, one_pass_chunks(s));
  return size_t(2 * s.C * chunks + 2 * s.C) * sizeof(double);
}

int64_t bn_one_pass_capacity(DType t, DType pt, int device) {
  int64_t capacity = 0;
  bn_switch("bn_one_pass_capacity", t, pt, [&](auto zero, auto pzero) {
    capacity = one_pass_capacity<decltype(zero), decltype(pzero)>(device);
  });
  return capacity;
}

bool bn_backward_single_pass(const BatchNormShape& s, int64_t one_pass_capacity) {
  if (s.N < 1 || s.C < 1 || s.S < 1) return false;
  return one_pass_fits(s, one_pass_capacity);
}

void bn_train_stats(DType t, DType pt, const BatchNormShape& s, const void* x, double eps, double momentum,
                    void* running_mean, void* running_var, double* mean, double* invstd, void* workspace,
                    cudaStream_t stream) {
  check_shape("bn_train_stats", s);
  if (s.N * s.S < 2) throw std::invalid_argument("cuda launcher bn_train_stats: needs at least 2 values per channel");
  const Chunking k = chunking(s);
  auto partial = static_cast<double*>(workspace);
  bn_switch("bn_train_stats", t, pt, [&](auto zero, auto pzero) {
    using T = decltype(zero);
    using P = decltype(pzero);
    auto xt = static_cast<const T*>(x);
    launch_kernel(stats_partial_kernel<T>, dim3(partial_grid(s, k)), dim3(detail::kThreads), 0, stream, s, k, xt, partial);
    detail::check_launch("bn_train_stats (partial sums)");
    launch_kernel(stats_finish_kernel<T, P>, dim3(unsigned(s.C)), dim3(32), 0, stream, s, k, xt, partial, eps,
                  momentum, static_cast<P*>(running_mean), static_cast<P*>(running_var), mean, invstd);
    detail::check_launch("bn_train_stats (finish)");
  });
}

void bn_eval_stats(DType pt, int64_t C, double eps, const void* running_mean, const void* running_var, double* mean,
                   double* invstd, cudaStream_t stream) {
  if (C < 1) return;
  detail::float_switch("bn_eval_stats", pt, [&](auto zero) {
    using P = decltype(zero);
    launch_kernel(eval_stats_kernel<P>, dim3(detail::blocks_for(C)), dim3(detail::kThreads), 0, stream, C, eps,
                  static_cast<const P*>(running_mean), static_cast<const P*>(running_var), mean, invstd);
    detail::check_launch("bn_eval_stats");
  });
}

void bn_apply(DType t, DType pt, const BatchNormShape& s, const void* x, const double* mean, const double* invstd,
              const void* gamma, const void* beta, bool relu, void* y, cudaStream_t stream) {
  check_shape("bn_apply", s);
  bn_switch("bn_apply", t, pt, [&](auto zero, auto pzero) {
    using T = decltype(zero);
    using P = decltype(pzero);
    launch_kernel(apply_kernel<T, P>, dim3(detail::blocks_for(s.N * s.C * s.S)), dim3(detail::kThreads), 0, stream, s,
                  static_cast<const T*>(x), mean, invstd, static_cast<const P*>(gamma), static_cast<const P*>(beta),
                  relu, static_cast<T*>(y));
    detail::check_launch("bn_apply");
  });
}

void bn_backward(DType t, DType pt, const BatchNormShape& s, bool training, const void* x, const void* y_relu,
                 const void* dy, const double* mean, const double* invstd, const void* gamma, void* dx, void* dgamma,
                 void* dbeta, int64_t one_pass_capacity, void* workspace, cudaStream_t stream) {
  check_shape("bn_backward", s);
  const Chunking k = chunking(s);
  auto partial = static_cast<double*>(workspace);
  double* coef = partial + 2 * s.C * k.chunks;
  bn_switch("bn_backward", t, pt, [&](auto zero, auto pzero) {
    using T = decltype(zero);
    using P = decltype(pzero);
    auto xt = static_cast<const T*>(x);
    auto yt = static_cast<const T*>(y_relu);
    auto gt = static_cast<const T*>(dy);
    // The sums are needed by dx in training, and by dgamma/dbeta always.
    const bool sums = training || dgamma != nullptr || dbeta != nullptr;
    if (sums && one_pass_fits(s, one_pass_capacity)) {
      const int64_t chunks = one_pass_chunks(s);
      detail::check_call(launch_cooperative_kernel(backward_one_pass_kernel<T, P>, dim3(unsigned(s.C * chunks)),
                                                   dim3(detail::kThreads), kOnePassSmem, stream, s, chunks, training, xt,
                                                   yt, gt, mean, invstd, static_cast<const P*>(gamma),
                                                   static_cast<T*>(dx), static_cast<P*>(dgamma),
                                                   static_cast<P*>(dbeta), partial),
                         "bn_backward", "the cooperative launch");
      detail::check_launch("bn_backward (one pass)");
      return;
    }
    if (sums) {
      launch_kernel(backward_partial_kernel<T>, dim3(partial_grid(s, k)), dim3(detail::kThreads), 0, stream, s, k, xt, yt, gt, mean, partial);
      detail::check_launch("bn_backward (partial sums)");
      launch_kernel(backward_finish_kernel<P>, dim3(unsigned(s.C)), dim3(32), 0, stream, s, k, training, partial,
                    invstd, static_cast<P*>(dgamma), static_cast<P*>(dbeta), coef);
      detail::check_launch("bn_backward (finish)");
    } else {
      detail::check_call(cudaMemsetAsync(coef, 0, size_t(2 * s.C) * sizeof(double), stream), "bn_backward",
                         "clearing the coefficients");
    }
    if (dx != nullptr) {
      launch_kernel(backward_dx_kernel<T, P>, dim3(detail::blocks_for(s.N * s.C * s.S)), dim3(detail::kThreads), 0,
                    stream, s, xt, yt, gt, mean, invstd, static_cast<const P*>(gamma), coef, static_cast<T*>(dx));
      detail::check_launch("bn_backward (dx)");
    }
  });
}

}  // namespace mtmap::cuda
