// InfoNCE and the spatial-correlation loss on CUDA. Every reduction is a fixed-shape shared-memory
// tree in double (no atomics), so a rerun gives the same bits. Unverified on a GPU at the time of
// writing where no device was at hand: tests/cuda/test_cuda_losses.cpp is the parity check.
#include <cublas_v2.h>

#include <cstdint>
#include <string>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/losses.h"

namespace mtmap::cuda {
namespace {

using detail::check_launch;

constexpr int kReduceThreads = 256;
constexpr int kPairThreads = 512;
constexpr int kTile = 16;

// Sum of one double per thread over the block (blockDim.x a power of two, ≤ N); every thread
// gets the result. `buf` holds blockDim.x doubles.
__device__ double block_sum(double v, double* buf) {
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

__device__ double block_max(double v, double* buf) {
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

void cublas_check(cublasStatus_t s, const char* launcher, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuda launcher ") + launcher + ": " + what + " failed with cuBLAS status " +
                             std::to_string(int(s)));
}

// Row-major C (rows, cols) = op(A)·op(B) in cuBLAS's column-major terms (see the call sites).
template <class T>
cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T* a,
                    int lda, const T* b, int ldb, T beta, T* c, int ldc) {
  const T one = T(1);
  if constexpr (std::is_same_v<T, float>)
    return cublasSgemm(h, ta, tb, m, n, k, &one, a, lda, b, ldb, &beta, c, ldc);
  else
    return cublasDgemm(h, ta, tb, m, n, k, &one, a, lda, b, ldb, &beta, c, ldc);
}

template <class F>
void f32_f64(const char* launcher, DType t, F&& f) {
  if (t == DType::f32)
    f(float{});
  else if (t == DType::f64)
    f(double{});
  else
    detail::unsupported(launcher, t);
}

// ---- InfoNCE ---------------------------------------------------------------------------------

// One block per row i: the positive logit, the row's log-sum-exp and loss.
template <class T>
__global__ void info_nce_rows(InfoNceParams p, const T* q, const T* k, const T* logits, double* lse, double* row_loss) {
  __shared__ double buf[kReduceThreads];
  const int64_t i = blockIdx.x;
  double part = 0;
  for (int64_t c = threadIdx.x; c < p.D; c += blockDim.x) part += double(q[i * p.D + c]) * double(k[i * p.D + c]);
  const double l0 = block_sum(part, buf) * p.inv_temperature;
  const T* row = logits + i * p.K;
  double mx = l0;
  for (int64_t j = threadIdx.x; j < p.K; j += blockDim.x) mx = fmax(mx, double(row[j]) * p.inv_temperature);
  mx = block_max(mx, buf);
  double s = threadIdx.x == 0 ? exp(l0 - mx) : 0.0;
  for (int64_t j = threadIdx.x; j < p.K; j += blockDim.x) s += exp(double(row[j]) * p.inv_temperature - mx);
  s = block_sum(s, buf);
  if (threadIdx.x == 0) {
    lse[i] = mx + log(s);
    row_loss[i] = lse[i] - l0;
  }
}

template <class T>
__global__ void mean_rows(int64_t n, const double* row_loss, T* loss) {
  __shared__ double buf[kReduceThreads];
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += row_loss[i];
  s = block_sum(s, buf);
  if (threadIdx.x == 0) *loss = T(s / double(n));
}

// One block per row: logits → dLoss/dlogits in place (softmax computed once, here), then the
// positive's share: dk_i = d0·q_i and dq_i = d0·k_i (the GEMM then adds the negatives).
template <class T>
__global__ void info_nce_dlogits(InfoNceParams p, const T* q, const T* k, const double* lse, const T* grad, T* logits,
                                 T* dq, T* dk) {
  __shared__ double buf[kReduceThreads];
  const int64_t i = blockIdx.x;
  const double scale = double(*grad) / double(p.N) * p.inv_temperature;
  double part = 0;
  for (int64_t c = threadIdx.x; c < p.D; c += blockDim.x) part += double(q[i * p.D + c]) * double(k[i * p.D + c]);
  const double l0 = block_sum(part, buf) * p.inv_temperature;
  const double d0 = (exp(l0 - lse[i]) - 1.0) * scale;
  T* row = logits + i * p.K;
  for (int64_t j = threadIdx.x; j < p.K; j += blockDim.x)
    row[j] = T(exp(double(row[j]) * p.inv_temperature - lse[i]) * scale);
  for (int64_t c = threadIdx.x; c < p.D; c += blockDim.x) {
    if (dq) dq[i * p.D + c] = T(d0 * double(k[i * p.D + c]));
    if (dk) dk[i * p.D + c] = T(d0 * double(q[i * p.D + c]));
  }
}

size_t align_up(size_t n) { return (n + 255) / 256 * 256; }

// ---- spatial loss ----------------------------------------------------------------------------

struct SpatialWorkspace {
  double *zt, *col, *r, *g, *dzt, *stats;  // (M, B), (M, 2) [sd, dead], (M, M), (M, M), (M, B), 8
};

SpatialWorkspace carve(const SpatialLossParams& p, void* ws) {
  char* at = static_cast<char*>(ws);
  auto take = [&](size_t n) {
    double* d = reinterpret_cast<double*>(at);
    at += align_up(n * sizeof(double));
    return d;
  };
  SpatialWorkspace w;
  w.zt = take(size_t(p.M * p.B));
  w.col = take(size_t(2 * p.M));
  w.r = take(size_t(p.M * p.M));
  w.g = take(size_t(p.M * p.M));
  w.dzt = take(size_t(p.M * p.B));
  w.stats = take(8);
  return w;
}

// One block per column j: mean, standard deviation (divisor B − 1), dead flag, zt row j.
template <class T>
__global__ void spatial_standardise(SpatialLossParams p, const T* x, SpatialWorkspace w) {
  __shared__ double buf[kReduceThreads];
  const int64_t j = blockIdx.x;
  const double first = double(x[j]);
  double s = 0;
  int equal = 1;
  for (int64_t b = threadIdx.x; b < p.B; b += blockDim.x) {
    double v = double(x[b * p.ldx + j]);
    s += v;
    equal &= v == first;
  }
  const bool all_equal = __syncthreads_and(equal);
  const double mean = block_sum(s, buf) / double(p.B);
  double ss = 0;
  for (int64_t b = threadIdx.x; b < p.B; b += blockDim.x) {
    double c = double(x[b * p.ldx + j]) - mean;
    ss += c * c;
  }
  const double sd = sqrt(block_sum(ss, buf) / double(p.B - 1));
  const bool dead = all_equal || sd == 0;
  for (int64_t b = threadIdx.x; b < p.B; b += blockDim.x)
    w.zt[j * p.B + b] = dead ? 0.0 : (double(x[b * p.ldx + j]) - mean) / sd;
  if (threadIdx.x == 0) {
    w.col[2 * j] = dead ? 1.0 : sd;
    w.col[2 * j + 1] = dead ? 1.0 : 0.0;
  }
}

// R_ij = Σ_b zt_ib zt_jb / (B − 1) for i > j (raw, unclamped), 16×16 tiles of the lower triangle.
__global__ void spatial_correlations(SpatialLossParams p, SpatialWorkspace w) {
  if (blockIdx.y < blockIdx.x) return;  // tile entirely above the diagonal
  __shared__ double a[kTile][kTile + 1], b[kTile][kTile + 1];
  const int64_t i = int64_t(blockIdx.y) * kTile + threadIdx.y, j = int64_t(blockIdx.x) * kTile + threadIdx.x;
  double acc = 0;
  for (int64_t t = 0; t < p.B; t += kTile) {
    int64_t ia = int64_t(blockIdx.y) * kTile + threadIdx.y, ja = int64_t(blockIdx.x) * kTile + threadIdx.y;
    int64_t bb = t + threadIdx.x;
    a[threadIdx.y][threadIdx.x] = (ia < p.M && bb < p.B) ? w.zt[ia * p.B + bb] : 0.0;
    b[threadIdx.y][threadIdx.x] = (ja < p.M && bb < p.B) ? w.zt[ja * p.B + bb] : 0.0;
    __syncthreads();
    for (int e = 0; e < kTile; ++e) acc += a[threadIdx.y][e] * b[threadIdx.x][e];
    __syncthreads();
  }
  if (i < p.M && j < i) w.r[i * p.M + j] = acc / double(p.B - 1);
}

__device__ double clamp1(double v) { return fmin(1.0, fmax(-1.0, v)); }

// One block: the pair statistics, r and the loss. stats = [mean_v, mean_u, norm_v, norm_u, r, loss].
template <class T>
__global__ void spatial_pairs(SpatialLossParams p, const T* target, SpatialWorkspace w, T* loss, double* r_out) {
  __shared__ double buf[kPairThreads];
  const double n = double(p.M) * double(p.M - 1) / 2;
  if (p.form == SpatialLossForm::absolute) {
    double s = 0;
    for (int64_t i = 1; i < p.M; ++i)
      for (int64_t j = threadIdx.x; j < i; j += blockDim.x)
        s += fabs(clamp1(w.r[i * p.M + j]) - double(target[i * p.M + j]));
    s = block_sum(s, buf);
    if (threadIdx.x == 0) {
      w.stats[4] = 0;
      w.stats[5] = s / n;
      *loss = T(s / n);
      if (r_out) *r_out = 0;
    }
    return;
  }
  double sv = 0, su = 0;
  for (int64_t i = 1; i < p.M; ++i)
    for (int64_t j = threadIdx.x; j < i; j += blockDim.x)
      sv += clamp1(w.r[i * p.M + j]), su += double(target[i * p.M + j]);
  const double mv = block_sum(sv, buf) / n, mu = block_sum(su, buf) / n;
  double vv = 0, uu = 0, vu = 0;
  for (int64_t i = 1; i < p.M; ++i)
    for (int64_t j = threadIdx.x; j < i; j += blockDim.x) {
      double v = clamp1(w.r[i * p.M + j]) - mv, u = double(target[i * p.M + j]) - mu;
      vv += v * v, uu += u * u, vu += v * u;
    }
  const double nv = sqrt(block_sum(vv, buf)), nu = sqrt(block_sum(uu, buf)), c = block_sum(vu, buf);
  if (threadIdx.x == 0) {
    const double r = (nv > 0 && nu > 0) ? c / (nv * nu) : 0.0;
    w.stats[0] = mv, w.stats[1] = mu, w.stats[2] = nv, w.stats[3] = nu, w.stats[4] = r, w.stats[5] = (1 - r) / 2;
    *loss = T((1 - r) / 2);
    if (r_out) *r_out = r;
  }
}

// G_ij = dLoss/dR_ij on both triangles (zero diagonal, zero where the clamp was active).
template <class T>
__global__ void spatial_pair_grad(SpatialLossParams p, const T* target, const T* grad, SpatialWorkspace w) {
  const int64_t n_all = p.M * p.M;
  const double g = double(*grad), n = double(p.M) * double(p.M - 1) / 2;
  const double mv = w.stats[0], mu = w.stats[1], nv = w.stats[2], nu = w.stats[3], r = w.stats[4];
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n_all; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t i = e / p.M, j = e % p.M;
    if (i == j) {
      w.g[e] = 0;
      continue;
    }
    int64_t a = i > j ? i : j, b = i > j ? j : i;
    double rv = w.r[a * p.M + b], u = double(target[a * p.M + b]), d = 0;
    if (rv >= -1 && rv <= 1) {
      if (p.form == SpatialLossForm::relative) {
        if (nv > 0 && nu > 0) d = -0.5 * ((u - mu) / nu - r * (rv - mv) / nv) / nv;
      } else {
        d = rv > u ? 1.0 / n : (rv < u ? -1.0 / n : 0.0);
      }
    }
    w.g[e] = d * g;
  }
}

// dzt (M, B) = G (M, M) · zt (M, B) / (B − 1), 16×16 tiles.
__global__ void spatial_gz(SpatialLossParams p, SpatialWorkspace w) {
  __shared__ double a[kTile][kTile + 1], b[kTile][kTile + 1];
  const int64_t k = int64_t(blockIdx.y) * kTile + threadIdx.y, col = int64_t(blockIdx.x) * kTile + threadIdx.x;
  double acc = 0;
  for (int64_t t = 0; t < p.M; t += kTile) {
    int64_t ja = t + threadIdx.x, jb = t + threadIdx.y;
    a[threadIdx.y][threadIdx.x] = (k < p.M && ja < p.M) ? w.g[k * p.M + ja] : 0.0;
    b[threadIdx.y][threadIdx.x] = (jb < p.M && col < p.B) ? w.zt[jb * p.B + col] : 0.0;
    __syncthreads();
    for (int e = 0; e < kTile; ++e) acc += a[threadIdx.y][e] * b[e][threadIdx.x];
    __syncthreads();
  }
  if (k < p.M && col < p.B) w.dzt[k * p.B + col] = acc / double(p.B - 1);
}

// One block per column: dx = (g − mean(g) − z·(zᵀg)/(B − 1)) / σ; dead columns get 0.
template <class T>
__global__ void spatial_column_backward(SpatialLossParams p, SpatialWorkspace w, T* dx) {
  __shared__ double buf[kReduceThreads];
  const int64_t k = blockIdx.x;
  const bool dead = w.col[2 * k + 1] != 0;
  const double* g = w.dzt + k * p.B;
  const double* z = w.zt + k * p.B;
  double sg = 0, szg = 0;
  for (int64_t b = threadIdx.x; b < p.B; b += blockDim.x) sg += g[b], szg += z[b] * g[b];
  const double mg = block_sum(sg, buf) / double(p.B), zg = block_sum(szg, buf) / double(p.B - 1);
  const double sd = w.col[2 * k];
  for (int64_t b = threadIdx.x; b < p.B; b += blockDim.x)
    dx[b * p.M + k] = dead ? T(0) : T((g[b] - mg - z[b] * zg) / sd);
}

template <class T>
void spatial_forward_impl(const SpatialLossParams& p, const T* x, const T* target, T* loss, double* r,
                          const SpatialWorkspace& w, cudaStream_t stream, const char* name) {
  spatial_standardise<T><<<unsigned(p.M), kReduceThreads, 0, stream>>>(p, x, w);
  check_launch(name);
  const unsigned tiles = unsigned((p.M + kTile - 1) / kTile);
  spatial_correlations<<<dim3(tiles, tiles), dim3(kTile, kTile), 0, stream>>>(p, w);
  check_launch(name);
  spatial_pairs<T><<<1, kPairThreads, 0, stream>>>(p, target, w, loss, r);
  check_launch(name);
}

void check_spatial(const SpatialLossParams& p, const char* name) {
  if (p.B < 2 || p.M < 3 || p.ldx < p.M || p.M > (int64_t(1) << 20))
    throw std::invalid_argument(std::string("cuda launcher ") + name + ": needs B >= 2, 3 <= M <= 2^20 and ldx >= M");
}

void check_info_nce(const InfoNceParams& p, const char* name) {
  if (p.N < 1 || p.D < 1 || p.K < 1 || !(p.inv_temperature > 0) || p.N > INT32_MAX || p.K > INT32_MAX ||
      p.D > INT32_MAX)
    throw std::invalid_argument(std::string("cuda launcher ") + name + ": needs 1 <= N, D, K < 2^31 and T > 0");
}

}  // namespace

size_t info_nce_workspace_bytes(DType t, const InfoNceParams& p) {
  return align_up(size_t(p.N * p.K) * dtype_size(t)) + align_up(size_t(p.N) * sizeof(double));
}

void info_nce_forward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue, void* loss,
                      double* lse, void* workspace, cublasHandle_t handle, cudaStream_t stream) {
  const char* name = "info_nce_forward";
  check_info_nce(p, name);
  f32_f64(name, t, [&](auto tag) {
    using T = decltype(tag);
    T* logits = static_cast<T*>(workspace);
    double* row_loss =
        reinterpret_cast<double*>(static_cast<char*>(workspace) + align_up(size_t(p.N * p.K) * sizeof(T)));
    cublas_check(cublasSetStream(handle, stream), name, "cublasSetStream");
    // Row-major logits (N, K) = q (N, D) · queueᵀ: column-major (K, N) = queue^T(K×D) · q(D×N).
    cublas_check(gemm<T>(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(p.K), int(p.N), int(p.D), static_cast<const T*>(queue),
                         int(p.D), static_cast<const T*>(q), int(p.D), T(0), logits, int(p.K)),
                 name, "logits GEMM");
    info_nce_rows<T><<<unsigned(p.N), kReduceThreads, 0, stream>>>(p, static_cast<const T*>(q),
                                                                   static_cast<const T*>(k), logits, lse, row_loss);
    check_launch(name);
    mean_rows<T><<<1, kReduceThreads, 0, stream>>>(p.N, row_loss, static_cast<T*>(loss));
    check_launch(name);
  });
}

void info_nce_backward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
                       const double* lse, const void* grad, void* dq, void* dk, void* workspace, cublasHandle_t handle,
                       cudaStream_t stream) {
  const char* name = "info_nce_backward";
  check_info_nce(p, name);
  f32_f64(name, t, [&](auto tag) {
    using T = decltype(tag);
    T* logits = static_cast<T*>(workspace);
    cublas_check(cublasSetStream(handle, stream), name, "cublasSetStream");
    cublas_check(gemm<T>(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(p.K), int(p.N), int(p.D), static_cast<const T*>(queue),
                         int(p.D), static_cast<const T*>(q), int(p.D), T(0), logits, int(p.K)),
                 name, "logits GEMM");
    info_nce_dlogits<T><<<unsigned(p.N), kReduceThreads, 0, stream>>>(
        p, static_cast<const T*>(q), static_cast<const T*>(k), lse, static_cast<const T*>(grad), logits,
        static_cast<T*>(dq), static_cast<T*>(dk));
    check_launch(name);
    if (dq)
      // Row-major dq (N, D) += dlogits (N, K) · queue (K, D): column-major (D, N) = queue(D×K) · dlogits(K×N).
      cublas_check(gemm<T>(handle, CUBLAS_OP_N, CUBLAS_OP_N, int(p.D), int(p.N), int(p.K), static_cast<const T*>(queue),
                           int(p.D), logits, int(p.K), T(1), static_cast<T*>(dq), int(p.D)),
                   name, "dq GEMM");
  });
}

size_t spatial_loss_workspace_bytes(const SpatialLossParams& p) {
  return align_up(size_t(p.M * p.B) * 8) * 2 + align_up(size_t(2 * p.M) * 8) + align_up(size_t(p.M * p.M) * 8) * 2 +
         align_up(8 * 8);
}

void spatial_loss_forward(DType t, const SpatialLossParams& p, const void* x, const void* target, void* loss, double* r,
                          void* workspace, cudaStream_t stream) {
  const char* name = "spatial_loss_forward";
  check_spatial(p, name);
  f32_f64(name, t, [&](auto tag) {
    using T = decltype(tag);
    spatial_forward_impl<T>(p, static_cast<const T*>(x), static_cast<const T*>(target), static_cast<T*>(loss), r,
                            carve(p, workspace), stream, name);
  });
}

void spatial_loss_backward(DType t, const SpatialLossParams& p, const void* x, const void* target, const void* grad,
                           void* dx, void* workspace, cudaStream_t stream) {
  const char* name = "spatial_loss_backward";
  check_spatial(p, name);
  f32_f64(name, t, [&](auto tag) {
    using T = decltype(tag);
    SpatialWorkspace w = carve(p, workspace);
    // The forward pass again (its loss lands in the stats slot 6, unused): R and the pair statistics.
    spatial_forward_impl<T>(p, static_cast<const T*>(x), static_cast<const T*>(target),
                            reinterpret_cast<T*>(w.stats + 6), nullptr, w, stream, name);
    spatial_pair_grad<T><<<detail::blocks_for(p.M * p.M), detail::kThreads, 0, stream>>>(
        p, static_cast<const T*>(target), static_cast<const T*>(grad), w);
    check_launch(name);
    const unsigned mt = unsigned((p.M + kTile - 1) / kTile), bt = unsigned((p.B + kTile - 1) / kTile);
    spatial_gz<<<dim3(bt, mt), dim3(kTile, kTile), 0, stream>>>(p, w);
    check_launch(name);
    spatial_column_backward<T><<<unsigned(p.M), kReduceThreads, 0, stream>>>(p, w, static_cast<T*>(dx));
    check_launch(name);
  });
}

}  // namespace mtmap::cuda
