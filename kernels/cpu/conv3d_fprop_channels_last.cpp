// Direct AVX-512 or AVX2 forward convolution, channels-last, vectorised over output channels: for layers
// whose output rows are too short for conv_row's 16-column vectors (the quickstart's layer3 has
// 8 columns, layer4 4, filling half and a quarter of each vector).
//
// The input is padded to x_cl (N, Dp, Hp, Wp, C) and the weights reordered to (T, R, S, C, K).
// Each output position keeps its own pointer into x_cl, so a block of positions needs no shape: it
// may span rows and samples. Positions are grouped by the taps they read real input with (tap_classes.h), and a block is
// PB positions of one group × a block of output channels (channels_last_block.h, accumulators in
// registers) over exactly the group's taps: no tap that reads only padding is computed. The result
// is written channels-last and transposed back to NCDHW. Every output element is summed over
// (tap, c) in one fixed order by one thread: deterministic.
#include <algorithm>
#include <array>
#include <vector>

#include "kernels/common/conv3d_taps.h"
#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/channels_last_block.h"
#include "kernels/cpu/channels_last_classes.h"
#include "kernels/cpu/conv3d_direct.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/tap_classes.h"

namespace mtmap::cpu {


bool conv3d_fprop_channels_last_supported(const Conv3dProblem& p) {
  const SimdIsa isa = simd_isa();
  return isa != SimdIsa::none && p.dil_d == 1 && p.dil_h == 1 && p.dil_w == 1 && p.K > 0 &&
         p.K % cl::block_shape(isa).lanes == 0;
}

void conv3d_fprop_channels_last(const Conv3dProblem& p, const float* x, const float* w, float* y) {
  const SimdIsa isa = simd_isa();
  const int64_t block = cl::block_shape(isa).channels();  // output channels per register block
  const PaddedChannelsLast l{p.D + 2 * p.pad_d, p.H + 2 * p.pad_h, p.W + 2 * p.pad_w, p.C};
  std::unique_ptr<float[]> xcl = zeroed_buffer<float>(static_cast<size_t>(p.N * l.sample()));
  pad_to_channels_last(p, l, x, xcl.get(), p.N);
  // Per output axis, the taps each index reads input with; positions are grouped by them.
  const int64_t stride[3] = {p.stride_d, p.stride_h, p.stride_w}, pad[3] = {p.pad_d, p.pad_h, p.pad_w};
  const int64_t extent[3] = {p.D, p.H, p.W}, size[3] = {p.T, p.R, p.S}, out[3] = {p.Z, p.P, p.Q};
  std::array<std::vector<AxisClass>, 3> axes;
  std::array<std::vector<char>, 3> used;  // taps of each axis that some index reads input with
  for (int a = 0; a < 3; ++a) {
    axes[a] = axis_classes(out[a], [&](int64_t o) {
      AxisWindow win;
      taps_inside(o, stride[a], pad[a], 1, extent[a], size[a], &win.lo, &win.hi);
      return win;
    });
    used[a].assign(size_t(size[a]), 0);
    for (const AxisClass& c : axes[a])
      for (int64_t t = c.window.lo; t < c.window.hi; ++t) used[a][size_t(t)] = 1;
  }
  // Weights (K, C, T, R, S) → (T, R, S, C, K), only the taps some position reads input with (one
  // in three at layer4, whose input is one frame deep).
  const int64_t taps = p.filter_volume();
  std::unique_ptr<float[]> wt = uninitialized_buffer<float>(static_cast<size_t>(p.weight_elements()));
#pragma omp parallel for schedule(static)
  for (int64_t tc = 0; tc < taps * p.C; ++tc) {  // one output row (tap, c) per iteration
    const int64_t tap = tc / p.C, c = tc % p.C;
    if (!used[0][size_t(tap / (p.R * p.S))] || !used[1][size_t((tap / p.S) % p.R)] || !used[2][size_t(tap % p.S)])
      continue;
    for (int64_t k = 0; k < p.K; ++k) wt[tc * p.K + k] = w[(k * p.C + c) * taps + tap];
  }
  const PositionClasses classes(p.N, std::move(axes));
  const int64_t kblocks = (p.K + block - 1) / block;
  // Each class's tap list, per block of output channels.
  std::vector<std::vector<cl::Tap>> lists(size_t(classes.count() * kblocks));
  for (int64_t c = 0; c < classes.count(); ++c) {
    const auto a = classes.axes_of(c);
    for (int64_t kb = 0; kb < kblocks; ++kb)
      for (int64_t t = a[0]->window.lo; t < a[0]->window.hi; ++t)
        for (int64_t r = a[1]->window.lo; r < a[1]->window.hi; ++r)
          for (int64_t s = a[2]->window.lo; s < a[2]->window.hi; ++s)
            lists[size_t(c * kblocks + kb)].push_back(
                {((t * l.Hp + r) * l.Wp + s) * p.C,
                 wt.get() + ((t * p.R + r) * p.S + s) * p.C * p.K + kb * block});
  }
  std::unique_ptr<float[]> y_rows = uninitialized_buffer<float>(static_cast<size_t>(p.output_positions() * p.K));
  cl::run_classes(isa, classes, lists, p.K, xcl.get(), p.C, p.K,
                  [&](int64_t n, const int64_t o[3], int64_t k0, int64_t* base, float** out) {
                    *base = n * l.sample() +
                            ((o[0] * p.stride_d * l.Hp + o[1] * p.stride_h) * l.Wp + o[2] * p.stride_w) * p.C;
                    *out = y_rows.get() + (((n * p.Z + o[0]) * p.P + o[1]) * p.Q + o[2]) * p.K + k0;
                  });
  const int64_t zpq = p.Z * p.P * p.Q;
  rows_to_planes(p.K, zpq, y_rows.get(), y, p.N);
}

}  // namespace mtmap::cpu
