// The spatial-correlation loss on CUDA (one window): column statistics and standardised Zᵀ,
// lower-triangle correlations (tiled), one single-block reduction over the pairs; backward the
// pair gradient G, the tiled product G·Zᵀ and the per-column standardisation backward. Every
// reduction is a fixed-shape shared-memory tree in double (no atomics).
#include <cstdint>
#include <string>

#include "kernels/cuda/loss_common.cuh"
#include "kernels/cuda/spatial_loss.h"

namespace mtmap::cuda {
namespace {

using detail::check_launch;
using namespace loss_detail;

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
  launch_kernel(spatial_standardise<T>, dim3(unsigned(p.M)), dim3(kReduceThreads), 0, stream, p, x, w);
  check_launch(name);
  const unsigned tiles = unsigned((p.M + kTile - 1) / kTile);
  launch_kernel(spatial_correlations, dim3(tiles, tiles), dim3(kTile, kTile), 0, stream, p, w);
  check_launch(name);
  launch_kernel(spatial_pairs<T>, dim3(1), dim3(kPairThreads), 0, stream, p, target, w, loss, r);
  check_launch(name);
}

void check_spatial(const SpatialLossParams& p, const char* name) {
  if (p.B < 2 || p.M < 3 || p.ldx < p.M || p.M > (int64_t(1) << 20))
    throw std::invalid_argument(std::string("cuda launcher ") + name + ": needs B >= 2, 3 <= M <= 2^20 and ldx >= M");
}

}  // namespace

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
    launch_kernel(spatial_pair_grad<T>, dim3(detail::blocks_for(p.M * p.M)), dim3(detail::kThreads), 0, stream, p, static_cast<const T*>(target), static_cast<const T*>(grad), w);
    check_launch(name);
    const unsigned mt = unsigned((p.M + kTile - 1) / kTile), bt = unsigned((p.B + kTile - 1) / kTile);
    launch_kernel(spatial_gz, dim3(bt, mt), dim3(kTile, kTile), 0, stream, p, w);
    check_launch(name);
    launch_kernel(spatial_column_backward<T>, dim3(unsigned(p.M)), dim3(kReduceThreads), 0, stream, p, w, static_cast<T*>(dx));
    check_launch(name);
  });
}

}  // namespace mtmap::cuda
