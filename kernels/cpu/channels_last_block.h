#pragma once
// The register-blocked micro-kernel of the channels-last direct convolutions (forward pass and
// input gradient), for AVX-512 and AVX2: PB output positions × KV vectors of output channels,
// summed over a list of taps and, per tap, over the input channels:
//   out[j][o] = Σ_tap Σ_i src[base[j] + tap.offset + i] · tap.weights[i · ldw + o]
// Each position has its own offset into the channels-last source, so a block needs no shape (it
// may span rows, samples or a strided phase), and the tap list is whatever the caller found to
// read real input. Per (tap, i) it loads KV weight vectors and broadcasts PB source scalars: PB·KV
// FMAs for KV + PB loads. Each output is summed in the list's order by one thread.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/unroll.h"

namespace mtmap::cpu::cl {

constexpr int kPositions = 6;  // PB, under either instruction set

// A block's output channels: KV vectors of `lanes` floats. AVX-512: 6 positions × 4 vectors = 24
// accumulators of 32 registers (64 channels). AVX2: 6 × 2 = 12 of 16 (16 channels), leaving two
// for the weight vectors and one for the broadcast.
struct BlockShape {
  int64_t lanes, vectors;
  int64_t channels() const { return lanes * vectors; }
};
inline BlockShape block_shape(SimdIsa isa) { return isa == SimdIsa::avx512 ? BlockShape{16, 4} : BlockShape{8, 2}; }

struct Tap {
  int64_t offset;        // added to every position's base
  const float* weights;  // (input channels, ldw) row-major, already offset to the block's channels
};

template <int PB, int KV>
__attribute__((target("avx512f"))) void block(const float* src, const int64_t* base, const Tap* taps, int ntaps,
                                              int64_t in_channels, int64_t ldw, float* const* out) {
  __m512 acc[PB][KV];
  MTMAP_UNROLL for (int j = 0; j < PB; ++j)
    MTMAP_UNROLL for (int v = 0; v < KV; ++v) acc[j][v] = _mm512_setzero_ps();
  for (int tp = 0; tp < ntaps; ++tp) {
    const float* w = taps[tp].weights;
    const float* s = src + taps[tp].offset;
    for (int64_t i = 0; i < in_channels; ++i, w += ldw) {
      __m512 wv[KV];
      MTMAP_UNROLL for (int v = 0; v < KV; ++v) wv[v] = _mm512_loadu_ps(w + v * 16);
      MTMAP_UNROLL for (int j = 0; j < PB; ++j) {
        const __m512 xb = _mm512_set1_ps(s[base[j] + i]);
        MTMAP_UNROLL for (int v = 0; v < KV; ++v) acc[j][v] = _mm512_fmadd_ps(xb, wv[v], acc[j][v]);
      }
    }
  }
  MTMAP_UNROLL for (int j = 0; j < PB; ++j)
    MTMAP_UNROLL for (int v = 0; v < KV; ++v) _mm512_storeu_ps(out[j] + v * 16, acc[j][v]);
}

// The same block under AVX2, summing each output in the same order.
template <int PB, int KV>
__attribute__((target("avx2,fma"))) void block_avx2(const float* src, const int64_t* base, const Tap* taps, int ntaps,
                                                    int64_t in_channels, int64_t ldw, float* const* out) {
  __m256 acc[PB][KV];
  MTMAP_UNROLL for (int j = 0; j < PB; ++j)
    MTMAP_UNROLL for (int v = 0; v < KV; ++v) acc[j][v] = _mm256_setzero_ps();
  for (int tp = 0; tp < ntaps; ++tp) {
    const float* w = taps[tp].weights;
    const float* s = src + taps[tp].offset;
    for (int64_t i = 0; i < in_channels; ++i, w += ldw) {
      __m256 wv[KV];
      MTMAP_UNROLL for (int v = 0; v < KV; ++v) wv[v] = _mm256_loadu_ps(w + v * 8);
      MTMAP_UNROLL for (int j = 0; j < PB; ++j) {
        const __m256 xb = _mm256_broadcast_ss(s + base[j] + i);
        MTMAP_UNROLL for (int v = 0; v < KV; ++v) acc[j][v] = _mm256_fmadd_ps(xb, wv[v], acc[j][v]);
      }
    }
  }
  MTMAP_UNROLL for (int j = 0; j < PB; ++j)
    MTMAP_UNROLL for (int v = 0; v < KV; ++v) _mm256_storeu_ps(out[j] + v * 8, acc[j][v]);
}

// Runtime (set, positions, vectors) to the compile-time kernel: the last position block and the
// last channel block may be short.
template <int PB = kPositions>
void run_block(SimdIsa isa, int pb, int kv, const float* src, const int64_t* base, const Tap* taps, int ntaps,
               int64_t in_channels, int64_t ldw, float* const* out) {
  if constexpr (PB >= 1) {
    if (pb != PB) return run_block<PB - 1>(isa, pb, kv, src, base, taps, ntaps, in_channels, ldw, out);
    if (isa == SimdIsa::avx2)
      return kv == 2 ? block_avx2<PB, 2>(src, base, taps, ntaps, in_channels, ldw, out)
                     : block_avx2<PB, 1>(src, base, taps, ntaps, in_channels, ldw, out);
    switch (kv) {
      case 4: return block<PB, 4>(src, base, taps, ntaps, in_channels, ldw, out);
      case 3: return block<PB, 3>(src, base, taps, ntaps, in_channels, ldw, out);
      case 2: return block<PB, 2>(src, base, taps, ntaps, in_channels, ldw, out);
      default: return block<PB, 1>(src, base, taps, ntaps, in_channels, ldw, out);
    }
  }
}

}  // namespace mtmap::cpu::cl
