// Direct AVX-512 or AVX2 weight gradient, channels-last:
//   dw[k, c, tap] = Σ_{n, z, p, q} dy[n, k, z, p, q] · x[n, c, z·sd − pd + t·dd, p·sh − ph + r·dh, q·sw − pw + s·dw]
//
// Why not vol2col + GEMM: at the quickstart's scale the column matrix of layer1 is 432 × 8192
// floats per sample (14 MB), written and read back from memory for only K = 16 FMAs per element:
// memory-bound at a quarter of the FMA peak. A per-tap GEMM over a padded copy avoids the copy but
// OpenBLAS then packs 16 × 9,000 panels for every tap, which measured slower still.
//
// Here x and dy are transposed, one sample at a time, to channels-last (x zero-padded, channels rounded up to
// 16): x_cl[n, d', h', w', c], dy_cl[n, z, p, q, k]. A task owns one filter tap, a block of KB output
// channels and NV·16 input channels; its KB × NV accumulators (vectors over c) stay in registers
// for the whole reduction over n, z, p, q. Per output position it loads NV vectors of x and
// broadcasts KB scalars of dy: 16·KB·NV FMAs per KB + NV loads, FMA-bound. Every task sums in the
// same order whatever the thread count: deterministic.
//
// Few input channels (the 3-channel stem) would leave most lanes empty. There the input is first
// unfolded along W: x_u[n, d', h', q, c·S + s] = x[n, c, d', h', q·sw + s·dw] (padded coordinates),
// a problem with C·S channels, a 1-wide filter and stride 1 along W (the stem's 21 channels fill
// two vectors to 66 %).
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/conv3d_direct.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/unroll.h"

namespace mtmap::cpu {
namespace {

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

using Layout = PaddedChannelsLast;

// The unfolded problem: C·S channels, filter (T, R, 1), W = Q (already strided), no W padding.
Conv3dProblem unfolded_problem(const Conv3dProblem& p) {
  Conv3dProblem u = p;
  u.C = p.C * p.S, u.S = 1, u.W = p.Q, u.pad_w = 0, u.stride_w = 1, u.dil_w = 1;
  return u;
}

// `samples` samples x (C, D, H, W) → x_u (Dp, Hp, Q, Cp) each, channel c·S + s holding padded column
// q·sw + s·dw. Entries that fall in the W padding are never written (zero from the caller).
void input_unfolded(const Conv3dProblem& p, const Layout& l, const float* x, float* out, int64_t samples) {
#pragma omp parallel for collapse(3) schedule(static)
  for (int64_t n = 0; n < samples; ++n)
    for (int64_t d = 0; d < p.D; ++d)
      for (int64_t h = 0; h < p.H; ++h) {
        const float* xn = x + n * p.C * p.D * p.H * p.W;
        for (int64_t q = 0; q < p.Q; ++q) {
          float* dst = out + n * l.sample() + (((d + p.pad_d) * l.Hp + h + p.pad_h) * p.Q + q) * l.Cp;
          for (int64_t c = 0; c < p.C; ++c)
            for (int64_t s = 0; s < p.S; ++s) {
              const int64_t w = q * p.stride_w + s * p.dil_w - p.pad_w;
              if (w >= 0 && w < p.W) dst[c * p.S + s] = xn[((c * p.D + d) * p.H + h) * p.W + w];
            }
        }
      }
}

struct Task {
  int64_t tap, k0, c0;
};

// One task on a chunk of samples: KB output channels from k0, NV·16 input channels from c0, one
// tap. Adds its KB × NV·16 block into out (taps, K, Cp), or writes it for the first chunk.
template <int KB, int NV>
__attribute__((target("avx512f"))) void wgrad_block(const Conv3dProblem& p, const Layout& l, const float* xcl,
                                                    const float* dycl, int64_t samples, const Task& task, bool first,
                                                    float* out) {
  const int64_t s = task.tap % p.S, r = (task.tap / p.S) % p.R, t = task.tap / (p.S * p.R);
  const int64_t x_step = p.stride_w * l.Cp;  // x_cl elements between neighbouring output columns
  float* block = out + (task.tap * p.K + task.k0) * l.Cp + task.c0;
  __m512 acc[KB][NV];
  MTMAP_UNROLL for (int i = 0; i < KB; ++i)
    MTMAP_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(block + i * l.Cp + j * 16);
  for (int64_t n = 0; n < samples; ++n)
    for (int64_t z = 0; z < p.Z; ++z)
      for (int64_t row = 0; row < p.P; ++row) {
        const int64_t d = z * p.stride_d + t * p.dil_d, h = row * p.stride_h + r * p.dil_h;
        // A row of padding adds zeros: skipped (two of layer4's three temporal taps at the
        // quickstart scale).
        if (d < p.pad_d || d >= p.pad_d + p.D || h < p.pad_h || h >= p.pad_h + p.H) continue;
        const float* xr = xcl + n * l.sample() + ((d * l.Hp + h) * l.Wp + s * p.dil_w) * l.Cp + task.c0;
        const float* dr = dycl + ((n * p.Z + z) * p.P + row) * p.Q * p.K + task.k0;
        for (int64_t q = 0; q < p.Q; ++q, xr += x_step, dr += p.K) {
          __m512 xv[NV];
          MTMAP_UNROLL for (int j = 0; j < NV; ++j) xv[j] = _mm512_loadu_ps(xr + j * 16);
          MTMAP_UNROLL for (int i = 0; i < KB; ++i) {
            const __m512 g = _mm512_set1_ps(dr[i]);
            MTMAP_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(g, xv[j], acc[i][j]);
          }
        }
      }
  MTMAP_UNROLL for (int i = 0; i < KB; ++i)
    MTMAP_UNROLL for (int j = 0; j < NV; ++j)
      _mm512_storeu_ps(block + i * l.Cp + j * 16, acc[i][j]);
}

// The same task under AVX2: KB output channels × NV vectors of 8 input channels, summing each
// output in wgrad_block's order (so both give the same bits).
template <int KB, int NV>
__attribute__((target("avx2,fma"))) void wgrad_block_avx2(const Conv3dProblem& p, const Layout& l, const float* xcl,
                                                         const float* dycl, int64_t samples, const Task& task,
                                                         bool first, float* out) {
  const int64_t s = task.tap % p.S, r = (task.tap / p.S) % p.R, t = task.tap / (p.S * p.R);
  const int64_t x_step = p.stride_w * l.Cp;
  float* block = out + (task.tap * p.K + task.k0) * l.Cp + task.c0;
  __m256 acc[KB][NV];
  MTMAP_UNROLL for (int i = 0; i < KB; ++i)
    MTMAP_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(block + i * l.Cp + j * 8);
  for (int64_t n = 0; n < samples; ++n)
    for (int64_t z = 0; z < p.Z; ++z)
      for (int64_t row = 0; row < p.P; ++row) {
        const int64_t d = z * p.stride_d + t * p.dil_d, h = row * p.stride_h + r * p.dil_h;
        if (d < p.pad_d || d >= p.pad_d + p.D || h < p.pad_h || h >= p.pad_h + p.H) continue;
        const float* xr = xcl + n * l.sample() + ((d * l.Hp + h) * l.Wp + s * p.dil_w) * l.Cp + task.c0;
        const float* dr = dycl + ((n * p.Z + z) * p.P + row) * p.Q * p.K + task.k0;
        for (int64_t q = 0; q < p.Q; ++q, xr += x_step, dr += p.K) {
          __m256 xv[NV];
          MTMAP_UNROLL for (int j = 0; j < NV; ++j) xv[j] = _mm256_loadu_ps(xr + j * 8);
          MTMAP_UNROLL for (int i = 0; i < KB; ++i) {
            const __m256 g = _mm256_broadcast_ss(dr + i);
            MTMAP_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_fmadd_ps(g, xv[j], acc[i][j]);
          }
        }
      }
  MTMAP_UNROLL for (int i = 0; i < KB; ++i)
    MTMAP_UNROLL for (int j = 0; j < NV; ++j) _mm256_storeu_ps(block + i * l.Cp + j * 8, acc[i][j]);
}

// How a set blocks the tasks: NV vectors of input channels and KB output channels per task.
// AVX-512: two vectors where the channels allow and K needs more than one 16-row block (more FMAs
// per broadcast), 12 rows then; else one vector and 16 rows. AVX2 (16 registers): 6 rows × 2
// vectors, 4 × 3 (the unfolded stem's 24 channels), or 12 × 1.
struct Blocking {
  int64_t nv, kb;
};
Blocking blocking(SimdIsa isa, int64_t Cp, int64_t K) {
  if (isa == SimdIsa::avx512) return Cp % 32 == 0 && K > 16 ? Blocking{2, 12} : Blocking{1, 16};
  if (Cp % 16 == 0) return {2, 6};
  if (Cp % 24 == 0) return {3, 4};
  return {1, 12};
}

// Runtime KB (the last block of K may be short) to the compile-time kernel.
template <bool Avx2, int NV, int KB>
void dispatch_block(int kb, const Conv3dProblem& p, const Layout& l, const float* xcl, const float* dycl,
                    int64_t samples, const Task& task, bool first, float* out) {
  if constexpr (KB >= 1) {
    if (kb != KB) return dispatch_block<Avx2, NV, KB - 1>(kb, p, l, xcl, dycl, samples, task, first, out);
    if constexpr (Avx2)
      wgrad_block_avx2<KB, NV>(p, l, xcl, dycl, samples, task, first, out);
    else
      wgrad_block<KB, NV>(p, l, xcl, dycl, samples, task, first, out);
  }
}

void run_task(SimdIsa isa, const Blocking& b, const Conv3dProblem& p, const Layout& l, const float* xcl,
              const float* dycl, int64_t samples, const Task& task, bool first, float* out) {
  const int rows = int(std::min(b.kb, p.K - task.k0));
  if (isa == SimdIsa::avx512) {
    if (b.nv == 1) return dispatch_block<false, 1, 16>(rows, p, l, xcl, dycl, samples, task, first, out);
    return dispatch_block<false, 2, 12>(rows, p, l, xcl, dycl, samples, task, first, out);
  }
  if (b.nv == 2) return dispatch_block<true, 2, 6>(rows, p, l, xcl, dycl, samples, task, first, out);
  if (b.nv == 3) return dispatch_block<true, 3, 4>(rows, p, l, xcl, dycl, samples, task, first, out);
  return dispatch_block<true, 1, 12>(rows, p, l, xcl, dycl, samples, task, first, out);
}

}  // namespace

// Whether rounding `channels` up to whole vectors of `lanes` leaves them at least `percent` % full.
static bool fills(int64_t channels, int64_t lanes, int64_t percent) {
  return channels > 0 && channels * 100 >= round_up(channels, lanes) * percent;
}
// Few channels that unfolding along W makes worth vectorising (the stem: 3 → 21, 66 % of two
// 16-lane vectors, 88 % of three 8-lane ones).
static bool use_unfolded(const Conv3dProblem& p, int64_t lanes) {
  return !fills(p.C, lanes, 80) && p.S > 1 && fills(p.C * p.S, lanes, 60);
}

bool conv3d_wgrad_direct_supported(const Conv3dProblem& p) {
  const int64_t lanes = simd_lanes(simd_isa());
  return lanes > 0 && p.K > 0 && (fills(p.C, lanes, 80) || use_unfolded(p, lanes));
}

void conv3d_wgrad_direct(const Conv3dProblem& p, const float* x, const float* dy, float* dw) {
  const SimdIsa isa = simd_isa();
  const int64_t lanes = simd_lanes(isa);
  const bool unfold = use_unfolded(p, lanes);
  const Conv3dProblem u = unfold ? unfolded_problem(p) : p;  // the problem the blocks compute
  const Layout l{p.D + 2 * p.pad_d, p.H + 2 * p.pad_h, u.W + 2 * u.pad_w, round_up(u.C, lanes)};
  const Blocking b = blocking(isa, l.Cp, u.K);
  const int64_t kb = b.kb, cblock = b.nv * lanes, taps = u.filter_volume();
  std::vector<Task> tasks;
  for (int64_t tap = 0; tap < taps; ++tap)
    for (int64_t k0 = 0; k0 < u.K; k0 += kb)
      for (int64_t c0 = 0; c0 < l.Cp; c0 += cblock) tasks.push_back({tap, k0, c0});
  // Chunks of samples whose channels-last copies (about 4 MB) stay in cache while every task reads
  // them: the stem's unfolded input is 46 MB for all 16 samples at once, and streaming it from
  // memory once per task measured 4× slower. The chunk depends only on the problem, so the
  // summation order (chunk by chunk, sample by sample) is the same for any thread count.
  const int64_t dy_sample = p.Z * p.P * p.Q * p.K;
  const int64_t chunk = std::clamp<int64_t>((int64_t(1) << 20) / (l.sample() + dy_sample), 1, std::max<int64_t>(p.N, 1));
  std::unique_ptr<float[]> xcl = zeroed_buffer<float>(static_cast<size_t>(chunk * l.sample()));
  std::unique_ptr<float[]> dycl = uninitialized_buffer<float>(static_cast<size_t>(chunk * dy_sample));
  std::unique_ptr<float[]> out = zeroed_buffer<float>(static_cast<size_t>(taps * u.K * l.Cp));  // (taps, K, Cp)
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    const int64_t samples = std::min(chunk, p.N - n0);
    const float* xn = x + n0 * p.C * p.D * p.H * p.W;
    if (unfold)
      input_unfolded(p, l, xn, xcl.get(), samples);
    else
      pad_to_channels_last(p, l, xn, xcl.get(), samples);
    planes_to_rows(p.K, p.Z * p.P * p.Q, dy + n0 * dy_sample, dycl.get(), samples);
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < tasks.size(); ++i)
      run_task(isa, b, u, l, xcl.get(), dycl.get(), samples, tasks[i], n0 == 0, out.get());
  }
  // (taps, K, Cp) → (K, C, T, R, S); unfolded channel c·S + s is filter column s of channel c.
  const int64_t S = p.S, TR = p.T * p.R;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < p.K; ++k)
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t tr = 0; tr < TR; ++tr)
        for (int64_t s = 0; s < S; ++s) {
          const int64_t tap = unfold ? tr : tr * S + s, lane = unfold ? c * S + s : c;
          dw[((k * p.C + c) * TR + tr) * S + s] = out[static_cast<size_t>((tap * p.K + k) * l.Cp + lane)];
        }
}

}  // namespace mtmap::cpu
