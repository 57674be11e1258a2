// Direct AVX-512 forward convolution, channels-last, vectorised over output channels: for layers
// whose output rows are too short for conv_row's 16-column vectors (the quickstart's layer3 has
// 8 columns, layer4 4, filling half and a quarter of each vector).
//
// The input is padded to x_cl (N, Dp, Hp, Wp, C) and the weights reordered to (T, R, S, C, K).
// Output positions (n, z, p, q) are flattened and cut into blocks of PB positions, which may span
// rows and samples: each position keeps its own pointer into x_cl, so a block needs no shape.
// A task is one block of channels_last_block.h (PB positions × KV·16 output channels, accumulators
// in registers) over the taps that some position of the block reads real input with. The result
// is written channels-last and transposed back to NCDHW. Every output element is summed over
// (tap, c) in one fixed order by one thread: deterministic.
#include <algorithm>
#include <vector>

#include "kernels/common/conv3d_taps.h"
#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/channels_last_block.h"
#include "kernels/cpu/conv3d_direct.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/scratch.h"

namespace mtmap::cpu {

using cl::kLanes;
using cl::kPositions;
using cl::kVectors;

bool conv3d_fprop_channels_last_supported(const Conv3dProblem& p) {
  return cpu_has_avx512() && p.dil_d == 1 && p.dil_h == 1 && p.dil_w == 1 && p.K > 0 && p.K % kLanes == 0;
}

void conv3d_fprop_channels_last(const Conv3dProblem& p, const float* x, const float* w, float* y) {
  const PaddedChannelsLast l{p.D + 2 * p.pad_d, p.H + 2 * p.pad_h, p.W + 2 * p.pad_w, p.C};
  std::unique_ptr<float[]> xcl = zeroed_buffer<float>(static_cast<size_t>(p.N * l.sample()));
  for (int64_t n = 0; n < p.N; ++n)
    pad_to_channels_last(p, l, x + n * p.C * p.D * p.H * p.W, xcl.get() + n * l.sample());
  // Weights (K, C, T, R, S) → (T, R, S, C, K).
  const int64_t taps = p.filter_volume();
  std::unique_ptr<float[]> wt = uninitialized_buffer<float>(static_cast<size_t>(p.weight_elements()));
#pragma omp parallel for schedule(static)
  for (int64_t tc = 0; tc < taps * p.C; ++tc) {  // one output row (tap, c) per iteration
    const int64_t tap = tc / p.C, c = tc % p.C;
    for (int64_t k = 0; k < p.K; ++k) wt[tc * p.K + k] = w[(k * p.C + c) * taps + tap];
  }
  // Each output position's offset in x_cl at tap (0, 0, 0).
  const int64_t positions = p.output_positions(), zpq = p.Z * p.P * p.Q;
  std::unique_ptr<int64_t[]> base = uninitialized_buffer<int64_t>(static_cast<size_t>(positions));
  for (int64_t i = 0; i < positions; ++i) {
    const int64_t q = i % p.Q, row = (i / p.Q) % p.P, z = (i / (p.Q * p.P)) % p.Z, n = i / zpq;
    base[i] =
        n * l.sample() + ((z * p.stride_d * l.Hp + row * p.stride_h) * l.Wp + q * p.stride_w) * p.C;
  }
  std::unique_ptr<float[]> y_rows = uninitialized_buffer<float>(static_cast<size_t>(positions * p.K));
  const int64_t pblocks = (positions + kPositions - 1) / kPositions;
  const int64_t kblocks = (p.K + kVectors * kLanes - 1) / (kVectors * kLanes);
#pragma omp parallel
  {
  std::vector<cl::Tap> list;  // this thread's tap list, rebuilt per block
  list.reserve(static_cast<size_t>(taps));
#pragma omp for schedule(static)
  for (int64_t job = 0; job < pblocks * kblocks; ++job) {
    const int64_t pbi = job / kblocks, k0 = (job % kblocks) * kVectors * kLanes;
    const int64_t first = pbi * kPositions;
    const int pb = int(std::min<int64_t>(kPositions, positions - first));
    const int kv = int(std::min<int64_t>(kVectors, (p.K - k0) / kLanes));
    // Taps per axis that some position of the block reads real input with; the others read only
    // padding for every position of the block and are skipped.
    int64_t lo[3] = {p.T, p.R, p.S}, hi[3] = {0, 0, 0};
    for (int64_t i = first; i < first + pb; ++i) {
      const int64_t o[3] = {(i / (p.Q * p.P)) % p.Z, (i / p.Q) % p.P, i % p.Q};
      const int64_t stride[3] = {p.stride_d, p.stride_h, p.stride_w}, pad[3] = {p.pad_d, p.pad_h, p.pad_w};
      const int64_t extent[3] = {p.D, p.H, p.W}, size[3] = {p.T, p.R, p.S};
      for (int a = 0; a < 3; ++a) {
        int64_t a_lo, a_hi;
        taps_inside(o[a], stride[a], pad[a], 1, extent[a], size[a], &a_lo, &a_hi);
        if (a_lo < a_hi) lo[a] = std::min(lo[a], a_lo), hi[a] = std::max(hi[a], a_hi);
      }
    }
    list.clear();
    for (int64_t t = lo[0]; t < hi[0]; ++t)
      for (int64_t r = lo[1]; r < hi[1]; ++r)
        for (int64_t s = lo[2]; s < hi[2]; ++s)
          list.push_back({((t * l.Hp + r) * l.Wp + s) * p.C, wt.get() + ((t * p.R + r) * p.S + s) * p.C * p.K + k0});
    float* out[kPositions];
    for (int j = 0; j < pb; ++j) out[j] = y_rows.get() + (first + j) * p.K + k0;
    cl::run_block(pb, kv, xcl.get(), base.get() + first, list.data(), int(list.size()), p.C, p.K, out);
  }
  }
  for (int64_t n = 0; n < p.N; ++n) rows_to_planes(p.K, zpq, y_rows.get() + n * zpq * p.K, y + n * p.K * zpq);
}

}  // namespace mtmap::cpu
