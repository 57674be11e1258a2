// Direct AVX-512 forward convolution, channels-last, vectorised over output channels: for layers
// whose output rows are too short for conv_row's 16-column vectors (the quickstart's layer3 has
// 8 columns, layer4 4, filling half and a quarter of each vector).
//
// The input is padded to x_cl (N, Dp, Hp, Wp, C) and the weights reordered to (T, R, S, C, K).
// Output positions (n, z, p, q) are flattened and cut into blocks of PB positions, which may span
// rows and samples: each position keeps its own pointer into x_cl, so a block needs no shape.
// A task computes PB positions × KV·16 output channels with PB·KV accumulators in registers; per
// (tap, c) it loads KV weight vectors and broadcasts PB input scalars: PB·KV FMAs for KV + PB
// loads. The result is written channels-last and transposed back to NCDHW. Every output element
// is summed over (tap, c) in one fixed order by one thread: deterministic.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/common/conv3d_taps.h"
#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/conv3d_direct.h"
#include "kernels/cpu/cpu_features.h"

namespace mtmap::cpu {
namespace {

constexpr int64_t kLanes = 16;
constexpr int kPositions = 6;  // PB: 6 positions × 4 vectors = 24 accumulators of 32 registers
constexpr int kVectors = 4;    // KV: 64 output channels per task

struct Geometry {
  PaddedChannelsLast l;
  int64_t C, K, T, R, S;
};

// Taps [lo, hi) per axis that some position of a block reads real input with; the others read
// only padding for every position of the block and are skipped.
struct TapRange {
  int64_t lo[3], hi[3];
};

// One block: `pb` ≤ PB positions whose x_cl offsets are in `base`, KV vectors of output channels
// from k0; weights wt (T, R, S, C, K); output rows y_cl (positions, K).
template <int PB, int KV>
__attribute__((target("avx512f"))) void block(const Geometry& g, const float* xcl, const int64_t* base, const float* wt,
                                              const TapRange& taps, int64_t k0, float* y_rows) {
  __m512 acc[PB][KV];
  for (int j = 0; j < PB; ++j)
    for (int v = 0; v < KV; ++v) acc[j][v] = _mm512_setzero_ps();
  for (int64_t t = taps.lo[0]; t < taps.hi[0]; ++t)
    for (int64_t r = taps.lo[1]; r < taps.hi[1]; ++r)
      for (int64_t s = taps.lo[2]; s < taps.hi[2]; ++s) {
        const int64_t tap = ((t * g.l.Hp + r) * g.l.Wp + s) * g.C;
        const float* w = wt + ((t * g.R + r) * g.S + s) * g.C * g.K + k0;
        for (int64_t c = 0; c < g.C; ++c, w += g.K) {
          __m512 wv[KV];
          for (int v = 0; v < KV; ++v) wv[v] = _mm512_loadu_ps(w + v * kLanes);
          for (int j = 0; j < PB; ++j) {
            const __m512 xb = _mm512_set1_ps(xcl[base[j] + tap + c]);
            for (int v = 0; v < KV; ++v) acc[j][v] = _mm512_fmadd_ps(xb, wv[v], acc[j][v]);
          }
        }
      }
  for (int j = 0; j < PB; ++j)
    for (int v = 0; v < KV; ++v) _mm512_storeu_ps(y_rows + j * g.K + k0 + v * kLanes, acc[j][v]);
}

// Runtime (positions, vectors) of a block to the compile-time kernel: the last position block
// and the last channel block may be short.
template <int PB = kPositions>
void dispatch(int pb, int kv, const Geometry& g, const float* xcl, const int64_t* base, const float* wt,
              const TapRange& taps, int64_t k0, float* y_rows) {
  if constexpr (PB >= 1) {
    if (pb != PB) return dispatch<PB - 1>(pb, kv, g, xcl, base, wt, taps, k0, y_rows);
    switch (kv) {
      case 4: return block<PB, 4>(g, xcl, base, wt, taps, k0, y_rows);
      case 3: return block<PB, 3>(g, xcl, base, wt, taps, k0, y_rows);
      case 2: return block<PB, 2>(g, xcl, base, wt, taps, k0, y_rows);
      default: return block<PB, 1>(g, xcl, base, wt, taps, k0, y_rows);
    }
  }
}

}  // namespace

bool conv3d_fprop_channels_last_supported(const Conv3dProblem& p) {
  return cpu_has_avx512() && p.dil_d == 1 && p.dil_h == 1 && p.dil_w == 1 && p.K > 0 && p.K % kLanes == 0;
}

void conv3d_fprop_channels_last(const Conv3dProblem& p, const float* x, const float* w, float* y) {
  const Geometry g{{p.D + 2 * p.pad_d, p.H + 2 * p.pad_h, p.W + 2 * p.pad_w, p.C}, p.C, p.K, p.T, p.R, p.S};
  std::vector<float> xcl(static_cast<size_t>(p.N * g.l.sample()), 0.0f);
  for (int64_t n = 0; n < p.N; ++n)
    pad_to_channels_last(p, g.l, x + n * p.C * p.D * p.H * p.W, xcl.data() + n * g.l.sample());
  // Weights (K, C, T, R, S) → (T, R, S, C, K).
  const int64_t taps = p.filter_volume();
  std::vector<float> wt(static_cast<size_t>(p.weight_elements()));
#pragma omp parallel for schedule(static)
  for (int64_t tc = 0; tc < taps * p.C; ++tc) {  // one output row (tap, c) per iteration
    const int64_t tap = tc / p.C, c = tc % p.C;
    for (int64_t k = 0; k < p.K; ++k) wt[static_cast<size_t>(tc * p.K + k)] = w[(k * p.C + c) * taps + tap];
  }
  // Each output position's offset in x_cl at tap (0, 0, 0).
  const int64_t positions = p.output_positions(), zpq = p.Z * p.P * p.Q;
  std::vector<int64_t> base(static_cast<size_t>(positions));
  for (int64_t i = 0; i < positions; ++i) {
    const int64_t q = i % p.Q, row = (i / p.Q) % p.P, z = (i / (p.Q * p.P)) % p.Z, n = i / zpq;
    base[static_cast<size_t>(i)] =
        n * g.l.sample() + ((z * p.stride_d * g.l.Hp + row * p.stride_h) * g.l.Wp + q * p.stride_w) * p.C;
  }
  std::vector<float> y_rows(static_cast<size_t>(positions * p.K));
  const int64_t pblocks = (positions + kPositions - 1) / kPositions;
  const int64_t kblocks = (p.K + kVectors * kLanes - 1) / (kVectors * kLanes);
#pragma omp parallel for schedule(static)
  for (int64_t job = 0; job < pblocks * kblocks; ++job) {
    const int64_t pbi = job / kblocks, k0 = (job % kblocks) * kVectors * kLanes;
    const int64_t first = pbi * kPositions;
    const int pb = int(std::min<int64_t>(kPositions, positions - first));
    const int kv = int(std::min<int64_t>(kVectors, (p.K - k0) / kLanes));
    TapRange taps{{p.T, p.R, p.S}, {0, 0, 0}};
    for (int64_t i = first; i < first + pb; ++i) {
      const int64_t o[3] = {(i / (p.Q * p.P)) % p.Z, (i / p.Q) % p.P, i % p.Q};
      const int64_t stride[3] = {p.stride_d, p.stride_h, p.stride_w}, pad[3] = {p.pad_d, p.pad_h, p.pad_w};
      const int64_t extent[3] = {p.D, p.H, p.W}, size[3] = {p.T, p.R, p.S};
      for (int a = 0; a < 3; ++a) {
        int64_t lo, hi;
        taps_inside(o[a], stride[a], pad[a], 1, extent[a], size[a], &lo, &hi);
        if (lo < hi) taps.lo[a] = std::min(taps.lo[a], lo), taps.hi[a] = std::max(taps.hi[a], hi);
      }
    }
    dispatch(pb, kv, g, xcl.data(), base.data() + first, wt.data(), taps, k0, y_rows.data() + first * p.K);
  }
  for (int64_t n = 0; n < p.N; ++n) rows_to_planes(p.K, zpq, y_rows.data() + n * zpq * p.K, y + n * p.K * zpq);
}

}  // namespace mtmap::cpu
