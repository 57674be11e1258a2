#include "kernels/cpu/conv3d_direct.h"

#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/common/conv3d_taps.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/unroll.h"

namespace mtmap::cpu {
namespace {

constexpr int64_t kVec = 16;  // floats per AVX-512 register: output columns per block

// The padded input's geometry. A stride along W is handled polyphase: each padded row is stored as
// `sw` phase rows of Wph elements (phase φ holds padded columns φ, φ + sw, φ + 2·sw, …), so the
// 16 output columns of one tap read 16 consecutive elements: output column q, tap s reads padded
// column q·sw + s = sw·(q + s / sw) + s % sw, element q + s / sw of phase s % sw. Strides along D
// and H only pick rows. With sw = 1 this is the plain padded layout.
struct Padded {
  int64_t Dp, Hp, Wp, Wph, sw;
  int64_t row_elements() const { return sw * Wph; }  // one padded row, all phases
};

// One (n, k-block, z, row) of the output: KB channels × Q columns, 16 columns at a time.
// xp: this sample's padded input (C, Dp, Hp, sw, Wph); wt: weights as (C, T, R, S, K) so the KB
// weights of one tap are adjacent.
template <int KB>
__attribute__((target("avx512f"))) void conv_row(const Conv3dProblem& p, const float* xp, const Padded& g,
                                                 const float* wt, int64_t k0, int64_t z, int64_t row, float* y_n) {
  const int64_t taps_k = p.K;  // stride between taps in wt
  // Taps along D and H that read only padding for this output row add zeros: skipped.
  int64_t t0, t1, r0, r1;
  taps_inside(z, p.stride_d, p.pad_d, 1, p.D, p.T, &t0, &t1);
  taps_inside(row, p.stride_h, p.pad_h, 1, p.H, p.R, &r0, &r1);
  for (int64_t q = 0; q < p.Q; q += kVec) {
    const int64_t cols = p.Q - q < kVec ? p.Q - q : kVec;
    const __mmask16 mask = __mmask16((1u << cols) - 1u);
    __m512 acc[KB];
    MTMAP_UNROLL for (int i = 0; i < KB; ++i) acc[i] = _mm512_setzero_ps();
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t t = t0; t < t1; ++t)
        for (int64_t r = r0; r < r1; ++r) {
          const float* xrow =
              xp + ((c * g.Dp + z * p.stride_d + t) * g.Hp + row * p.stride_h + r) * g.row_elements() + q;
          const float* wtap = wt + ((c * p.T + t) * p.R + r) * p.S * taps_k + k0;
          // Tap s reads element s / sw of phase row s % sw, stepped without a division per tap.
          for (int64_t s = 0, phase = 0, e = 0; s < p.S; ++s, wtap += taps_k) {
            // Masked load: the padded row may end before the last full vector.
            const __m512 xv = _mm512_maskz_loadu_ps(mask, xrow + phase * g.Wph + e);
            MTMAP_UNROLL for (int i = 0; i < KB; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(wtap[i]), xv, acc[i]);
            if (++phase == g.sw) phase = 0, ++e;
          }
        }
    MTMAP_UNROLL for (int i = 0; i < KB; ++i) _mm512_mask_storeu_ps(y_n + ((k0 + i) * p.Z + z) * p.P * p.Q + row * p.Q + q, mask, acc[i]);
  }
}

// The same row under AVX2 (8 floats a vector, 16 registers): one block is KB channels × NV vectors
// of 8 columns, KB·NV accumulators plus NV input vectors and a broadcast in registers. Per tap it
// loads NV input vectors and broadcasts KB weights for KB·NV FMAs (KB = 6, NV = 2: 8 loads for 12
// FMAs; 12 independent sums cover the FMA latency of 4 cycles at 2 a cycle). Each output sums its
// taps in conv_row's order, so both kernels give the same bits. Whole blocks load plainly; the
// last block of a row masks the columns past its end.
template <int KB, int NV>
__attribute__((target("avx2,fma"))) void row_block_avx2(const Conv3dProblem& p, const float* xp, const Padded& g,
                                                        const float* wt, int64_t k0, int64_t z, int64_t row,
                                                        const int64_t (&taps)[4], int64_t q, float* y_n) {
  constexpr int64_t kLanes = 8, kCols = kLanes * NV;
  const int64_t cols = p.Q - q < kCols ? p.Q - q : kCols;
  const bool whole = cols == kCols;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i mask[NV];  // lane l of vector j is on when column j·8 + l is in the row
  MTMAP_UNROLL for (int j = 0; j < NV; ++j) mask[j] = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(cols - j * kLanes)), lane);
  __m256 acc[KB][NV];
  MTMAP_UNROLL for (int i = 0; i < KB; ++i)
    MTMAP_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_setzero_ps();
  const int64_t taps_k = p.K;
  for (int64_t c = 0; c < p.C; ++c)
    for (int64_t t = taps[0]; t < taps[1]; ++t)
      for (int64_t r = taps[2]; r < taps[3]; ++r) {
        const float* xrow = xp + ((c * g.Dp + z * p.stride_d + t) * g.Hp + row * p.stride_h + r) * g.row_elements() + q;
        const float* wtap = wt + ((c * p.T + t) * p.R + r) * p.S * taps_k + k0;
        for (int64_t s = 0, phase = 0, e = 0; s < p.S; ++s, wtap += taps_k) {
          const float* xs = xrow + phase * g.Wph + e;
          __m256 xv[NV];
          MTMAP_UNROLL for (int j = 0; j < NV; ++j)
            xv[j] = whole ? _mm256_loadu_ps(xs + j * kLanes) : _mm256_maskload_ps(xs + j * kLanes, mask[j]);
          MTMAP_UNROLL for (int i = 0; i < KB; ++i) {
            const __m256 wv = _mm256_broadcast_ss(wtap + i);
            MTMAP_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
          }
          if (++phase == g.sw) phase = 0, ++e;
        }
      }
  MTMAP_UNROLL for (int i = 0; i < KB; ++i) {
    float* out = y_n + ((k0 + i) * p.Z + z) * p.P * p.Q + row * p.Q + q;
    MTMAP_UNROLL for (int j = 0; j < NV; ++j) {
      if (whole)
        _mm256_storeu_ps(out + j * kLanes, acc[i][j]);
      else
        _mm256_maskstore_ps(out + j * kLanes, mask[j], acc[i][j]);
    }
  }
}

// One output row under AVX2, every output channel: all blocks of channels for a group of columns
// before the next group, so the C·T·R input rows they read (about 10 KB at layer1) stay in L1
// across the blocks rather than coming back from L3 once per block (which had left two threads no
// faster than one). Blocks of 6 channels, then the rest (K is a multiple of 8: 2 or 4 left).
template <int NV>
void conv_row_avx2(const Conv3dProblem& p, const float* xp, const Padded& g, const float* wt, int64_t z, int64_t row,
                   float* y_n) {
  constexpr int KB = NV == 1 ? 8 : 6;
  int64_t taps[4];
  taps_inside(z, p.stride_d, p.pad_d, 1, p.D, p.T, &taps[0], &taps[1]);
  taps_inside(row, p.stride_h, p.pad_h, 1, p.H, p.R, &taps[2], &taps[3]);
  for (int64_t q = 0; q < p.Q; q += 8 * NV) {
    int64_t k0 = 0;
    for (; k0 + KB <= p.K; k0 += KB) row_block_avx2<KB, NV>(p, xp, g, wt, k0, z, row, taps, q, y_n);
    if (p.K - k0 == 4) row_block_avx2<4, NV>(p, xp, g, wt, k0, z, row, taps, q, y_n);
    if (p.K - k0 == 2) row_block_avx2<2, NV>(p, xp, g, wt, k0, z, row, taps, q, y_n);
  }
}

// The input zero-padded by the problem's padding, (N, C, Dp, Hp, sw, Wph). A masked load never
// reads past a phase row, so no extra tail is needed.
std::unique_ptr<float[]> padded_input(const Conv3dProblem& p, const float* x, const Padded& g) {
  std::unique_ptr<float[]> xp = zeroed_buffer<float>(static_cast<size_t>(p.N * p.C * g.Dp * g.Hp * g.row_elements()));
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t nc = 0; nc < p.N * p.C; ++nc)
    for (int64_t d = 0; d < p.D; ++d)
      for (int64_t h = 0; h < p.H; ++h) {
        const float* src = x + ((nc * p.D + d) * p.H + h) * p.W;
        float* dst = xp.get() + ((nc * g.Dp + d + p.pad_d) * g.Hp + h + p.pad_h) * g.row_elements();
        if (g.sw == 1) {
          std::memcpy(dst + p.pad_w, src, sizeof(float) * static_cast<size_t>(p.W));
          continue;
        }
        // Phase φ holds the input columns i with (i + pad_w) % sw == φ, at (i + pad_w) / sw.
        for (int64_t phase = 0; phase < g.sw; ++phase) {
          int64_t i = ((phase - p.pad_w) % g.sw + g.sw) % g.sw;
          float* out = dst + phase * g.Wph + (i + p.pad_w) / g.sw;
          for (; i < p.W; i += g.sw) *out++ = src[i];
        }
      }
  return xp;
}

// y = conv(x, w) for an undilated problem, any stride, K % 8 == 0.
void run_direct(const Conv3dProblem& p, const float* x, const float* w, float* y) {
  const int64_t Wp = p.W + 2 * p.pad_w;
  const Padded g{p.D + 2 * p.pad_d, p.H + 2 * p.pad_h, Wp, (Wp + p.stride_w - 1) / p.stride_w, p.stride_w};
  std::unique_ptr<float[]> xp = padded_input(p, x, g);
  // Weights as (C, T, R, S, K).
  const int64_t taps = p.C * p.T * p.R * p.S;
  std::unique_ptr<float[]> wt = uninitialized_buffer<float>(static_cast<size_t>(taps * p.K));
  for (int64_t k = 0; k < p.K; ++k)
    for (int64_t tap = 0; tap < taps; ++tap) wt[static_cast<size_t>(tap * p.K + k)] = w[k * taps + tap];

  // Output channels per register block under AVX-512: 16 or 8 (one vector of 16 columns each),
  // one block per job. Under AVX2 a job is a whole row, every channel (conv_row_avx2).
  const bool avx2 = simd_isa() == SimdIsa::avx2, short_rows = p.Q <= 8;
  const int64_t kb = avx2 ? p.K : p.K % 16 == 0 ? 16 : 8, kblocks = p.K / kb;
  const int64_t rows = p.N * kblocks * p.Z * p.P;
  const int64_t sample = p.C * g.Dp * g.Hp * g.row_elements();
#pragma omp parallel for schedule(static)
  for (int64_t job = 0; job < rows; ++job) {
    int64_t row = job % p.P, z = (job / p.P) % p.Z, kbi = (job / (p.P * p.Z)) % kblocks, n = job / (p.P * p.Z * kblocks);
    const float* xp_n = xp.get() + n * sample;
    float* y_n = y + n * p.K * p.Z * p.P * p.Q;
    if (avx2 && short_rows)
      conv_row_avx2<1>(p, xp_n, g, wt.get(), z, row, y_n);
    else if (avx2)
      conv_row_avx2<2>(p, xp_n, g, wt.get(), z, row, y_n);
    else if (kb == 16)
      conv_row<16>(p, xp_n, g, wt.get(), kbi * 16, z, row, y_n);
    else
      conv_row<8>(p, xp_n, g, wt.get(), kbi * 8, z, row, y_n);
  }
}

}  // namespace

bool conv3d_direct_supported(const Conv3dProblem& p) {
  return simd_isa() != SimdIsa::none && p.dil_d == 1 && p.dil_h == 1 && p.dil_w == 1 && p.K % 8 == 0 && p.K > 0;
}

void conv3d_fprop_direct(const Conv3dProblem& p, const float* x, const float* w, float* y) { run_direct(p, x, w, y); }

// The problem whose forward pass is p's dgrad: input dy (N, K, Z, P, Q), output (N, C, D, H, W).
static Conv3dProblem flipped(const Conv3dProblem& p) {
  Conv3dProblem f = p;
  f.C = p.K, f.D = p.Z, f.H = p.P, f.W = p.Q;
  f.K = p.C;
  f.pad_d = p.T - 1 - p.pad_d, f.pad_h = p.R - 1 - p.pad_h, f.pad_w = p.S - 1 - p.pad_w;
  f.compute_output();
  return f;
}

// dgrad of a stride-1 problem is the forward pass of the flipped problem when that problem gives
// back the input's extents (padding ≤ kernel − 1 on every axis).
static bool flippable(const Conv3dProblem& p) {
  if (p.stride_d != 1 || p.stride_h != 1 || p.stride_w != 1) return false;
  if (p.pad_d > p.T - 1 || p.pad_h > p.R - 1 || p.pad_w > p.S - 1) return false;
  Conv3dProblem f = flipped(p);
  return f.Z == p.D && f.P == p.H && f.Q == p.W;
}

// w' (C, K, T, R, S): every tap reversed in space, channels transposed.
static std::unique_ptr<float[]> flipped_weights(const Conv3dProblem& p, const float* w) {
  std::unique_ptr<float[]> wf = uninitialized_buffer<float>(static_cast<size_t>(p.weight_elements()));
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < p.K; ++k)
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t t = 0; t < p.T; ++t)
        for (int64_t r = 0; r < p.R; ++r)
          for (int64_t s = 0; s < p.S; ++s)
            wf[static_cast<size_t>((((c * p.K + k) * p.T + (p.T - 1 - t)) * p.R + (p.R - 1 - r)) * p.S + (p.S - 1 - s))] =
                w[(((k * p.C + c) * p.T + t) * p.R + r) * p.S + s];
  return wf;
}

bool conv3d_dgrad_direct_supported(const Conv3dProblem& p) {
  return flippable(p) && conv3d_direct_supported(flipped(p));
}

void conv3d_dgrad_direct(const Conv3dProblem& p, const float* dy, const float* w, float* dx) {
  run_direct(flipped(p), dy, flipped_weights(p, w).get(), dx);
}

}  // namespace mtmap::cpu
