#pragma once
// The register-blocked micro-kernel of the channels-last direct convolutions (forward pass and
// input gradient): PB output positions × KV·16 output channels, summed over a list of taps and,
// per tap, over the input channels:
//   out[j][o] = Σ_tap Σ_i src[base[j] + tap.offset + i] · tap.weights[i · ldw + o]
// Each position has its own offset into the channels-last source, so a block needs no shape (it
// may span rows, samples or a strided phase), and the tap list is whatever the caller found to
// read real input. Per (tap, i) it loads KV weight vectors and broadcasts PB source scalars: PB·KV
// FMAs for KV + PB loads. Each output is summed in the list's order by one thread.
#include <immintrin.h>

#include <cstdint>

namespace mtmap::cpu::cl {

constexpr int64_t kLanes = 16;
constexpr int kPositions = 6;  // PB: 6 positions × 4 vectors = 24 accumulators of 32 registers
constexpr int kVectors = 4;    // KV: 64 output channels per block

struct Tap {
  int64_t offset;        // added to every position's base
  const float* weights;  // (input channels, ldw) row-major, already offset to the block's channels
};

template <int PB, int KV>
__attribute__((target("avx512f"))) void block(const float* src, const int64_t* base, const Tap* taps, int ntaps,
                                              int64_t in_channels, int64_t ldw, float* const* out) {
  __m512 acc[PB][KV];
  for (int j = 0; j < PB; ++j)
    for (int v = 0; v < KV; ++v) acc[j][v] = _mm512_setzero_ps();
  for (int tp = 0; tp < ntaps; ++tp) {
    const float* w = taps[tp].weights;
    const float* s = src + taps[tp].offset;
    for (int64_t i = 0; i < in_channels; ++i, w += ldw) {
      __m512 wv[KV];
      for (int v = 0; v < KV; ++v) wv[v] = _mm512_loadu_ps(w + v * kLanes);
      for (int j = 0; j < PB; ++j) {
        const __m512 xb = _mm512_set1_ps(s[base[j] + i]);
        for (int v = 0; v < KV; ++v) acc[j][v] = _mm512_fmadd_ps(xb, wv[v], acc[j][v]);
      }
    }
  }
  for (int j = 0; j < PB; ++j)
    for (int v = 0; v < KV; ++v) _mm512_storeu_ps(out[j] + v * kLanes, acc[j][v]);
}

// Runtime (positions, vectors) to the compile-time kernel: the last position block and the last
// channel block may be short.
template <int PB = kPositions>
void run_block(int pb, int kv, const float* src, const int64_t* base, const Tap* taps, int ntaps, int64_t in_channels,
               int64_t ldw, float* const* out) {
  if constexpr (PB >= 1) {
    if (pb != PB) return run_block<PB - 1>(pb, kv, src, base, taps, ntaps, in_channels, ldw, out);
    switch (kv) {
      case 4: return block<PB, 4>(src, base, taps, ntaps, in_channels, ldw, out);
      case 3: return block<PB, 3>(src, base, taps, ntaps, in_channels, ldw, out);
      case 2: return block<PB, 2>(src, base, taps, ntaps, in_channels, ldw, out);
      default: return block<PB, 1>(src, base, taps, ntaps, in_channels, ldw, out);
    }
  }
}

}  // namespace mtmap::cpu::cl
