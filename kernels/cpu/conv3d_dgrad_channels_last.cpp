// Direct AVX-512 or AVX2 input gradient of any-stride, undilated convolutions, channels-last:
//   dx[n, c, d, h, w] = Σ_k Σ_{taps t, r, s with d + pd − t = z·sd, …} dy[n, k, z, p, q] · w[k, c, t, r, s]
//
// Why: vol2col's adjoint (GEMM into a column matrix, then col2vol) ran the strided layers' dgrad
// at a third of PyTorch's speed. Split the input positions into phases by (d + pd) mod sd (and
// likewise for h, w): within one phase every position uses the same taps t = φ + sd·j, reading
// dy at z = z0 − j, so a phase is a stride-1 correlation of dy with a sub-filter. Its positions
// go through the channels-last block of channels_last_block.h (input channels = K, output channels
// = C) with dy padded by zero margins, so taps that fall outside dy read zeros; taps that fall
// outside for every position of a block are not listed at all. A phase without taps (a 1×1×1
// stride-2 filter's odd positions) gets zeros. Stride 1 is the one-phase case.
#include <algorithm>
#include <array>
#include <vector>

#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/channels_last_block.h"
#include "kernels/cpu/channels_last_classes.h"
#include "kernels/cpu/conv3d_direct.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/tap_classes.h"

namespace mtmap::cpu {
namespace {


// One spatial axis of the gradient: input extent `in`, output extent `out`, and the zero margins
// of the padded dy along it (j up to ⌈taps / stride⌉ − 1 before, whatever z0 reaches past out − 1
// after).
struct Axis {
  int64_t stride, pad, taps, in, out;
  int64_t before() const { return (taps + stride - 1) / stride - 1; }
  int64_t after() const { return std::max<int64_t>(0, (in - 1 + pad) / stride - (out - 1)); }
  int64_t padded() const { return out + before() + after(); }
  int64_t phase(int64_t i) const { return (i + pad) % stride; }
  int64_t z0(int64_t i) const { return (i + pad) / stride; }  // dy index of tap j = 0
  int64_t phase_taps(int64_t phase) const { return phase < taps ? (taps - phase + stride - 1) / stride : 0; }
  // j in [lo, hi) whose dy index z0 − j lies in [0, out).
  void valid(int64_t i, int64_t* lo, int64_t* hi) const {
    const int64_t j_max = phase_taps(phase(i));
    *lo = std::max<int64_t>(0, z0(i) - out + 1);
    *hi = std::min(j_max, z0(i) + 1);
    if (*hi < *lo) *hi = *lo;
  }
};

}  // namespace

bool conv3d_dgrad_channels_last_supported(const Conv3dProblem& p) {
  const SimdIsa isa = simd_isa();
  return isa != SimdIsa::none && p.dil_d == 1 && p.dil_h == 1 && p.dil_w == 1 && p.C > 0 &&
         p.C % cl::block_shape(isa).lanes == 0;
}

void conv3d_dgrad_channels_last(const Conv3dProblem& p, const float* dy, const float* w, float* dx) {
  const SimdIsa isa = simd_isa();
  const int64_t block = cl::block_shape(isa).channels();  // output channels per register block
  const Axis ax[3] = {{p.stride_d, p.pad_d, p.T, p.D, p.Z}, {p.stride_h, p.pad_h, p.R, p.H, p.P},
                      {p.stride_w, p.pad_w, p.S, p.W, p.Q}};
  const int64_t Zp = ax[0].padded(), Pp = ax[1].padded(), Qp = ax[2].padded();
  // dy (N, K, Z, P, Q) → dy_p (N, Zp, Pp, Qp, K) with zero margins.
  std::unique_ptr<float[]> dyp = zeroed_buffer<float>(static_cast<size_t>(p.N * Zp * Pp * Qp * p.K));
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t z = 0; z < p.Z; ++z)
      for (int64_t k = 0; k < p.K; ++k)
        for (int64_t row = 0; row < p.P; ++row) {
          const float* src = dy + (((n * p.K + k) * p.Z + z) * p.P + row) * p.Q;
          float* dst = dyp.get() +
                       (((n * Zp + z + ax[0].before()) * Pp + row + ax[1].before()) * Qp + ax[2].before()) * p.K + k;
          for (int64_t q = 0; q < p.Q; ++q) dst[q * p.K] = src[q];
        }
  // Per input axis, each index's stride phase and the taps j it reads real dy with; positions are
  // grouped by them (tap_classes.h), so a block computes exactly its positions' taps.
  std::array<std::vector<AxisClass>, 3> axes;
  std::array<std::vector<char>, 3> used;  // filter taps of each axis that some index reads dy with
  const int64_t size[3] = {p.T, p.R, p.S};
  for (int a = 0; a < 3; ++a) {
    axes[a] = axis_classes(ax[a].in, [&](int64_t i) {
      AxisWindow win;
      win.phase = ax[a].phase(i);
      ax[a].valid(i, &win.lo, &win.hi);
      return win;
    });
    used[a].assign(size_t(size[a]), 0);
    for (const AxisClass& c : axes[a])
      for (int64_t j = c.window.lo; j < c.window.hi; ++j) used[a][size_t(c.window.phase + j * ax[a].stride)] = 1;
  }
  // Weights (K, C, T, R, S) → (T, R, S, K, C), only the taps some position reads dy with.
  const int64_t taps = p.filter_volume();
  std::unique_ptr<float[]> wdg = uninitialized_buffer<float>(static_cast<size_t>(p.weight_elements()));
#pragma omp parallel for schedule(static)
  for (int64_t tk = 0; tk < taps * p.K; ++tk) {
    const int64_t tap = tk / p.K, k = tk % p.K;
    if (!used[0][size_t(tap / (p.R * p.S))] || !used[1][size_t((tap / p.S) % p.R)] || !used[2][size_t(tap % p.S)])
      continue;
    for (int64_t c = 0; c < p.C; ++c) wdg[tk * p.C + c] = w[(k * p.C + c) * taps + tap];
  }
  const PositionClasses classes(p.N, std::move(axes));
  const int64_t cblocks = (p.C + block - 1) / block;
  // Each class's tap list (tap j along an axis of phase φ is filter tap φ + stride·j, reading dy
  // j steps back), per block of input channels. A phase without taps (a 1×1×1 stride-2 filter's
  // odd positions) has an empty list: its block writes zeros.
  std::vector<std::vector<cl::Tap>> lists(size_t(classes.count() * cblocks));
  for (int64_t c = 0; c < classes.count(); ++c) {
    const auto a = classes.axes_of(c);
    for (int64_t cb = 0; cb < cblocks; ++cb)
      for (int64_t jt = a[0]->window.lo; jt < a[0]->window.hi; ++jt)
        for (int64_t jr = a[1]->window.lo; jr < a[1]->window.hi; ++jr)
          for (int64_t js = a[2]->window.lo; js < a[2]->window.hi; ++js) {
            const int64_t t = a[0]->window.phase + jt * p.stride_d, r = a[1]->window.phase + jr * p.stride_h,
                          s = a[2]->window.phase + js * p.stride_w;
            lists[size_t(c * cblocks + cb)].push_back(
                {-((jt * Pp + jr) * Qp + js) * p.K,
                 wdg.get() + ((t * p.R + r) * p.S + s) * p.K * p.C + cb * block});
          }
  }
  std::unique_ptr<float[]> dx_rows = uninitialized_buffer<float>(static_cast<size_t>(p.input_elements()));
  cl::run_classes(isa, classes, lists, p.C, dyp.get(), p.K, p.C,
                  [&](int64_t n, const int64_t in[3], int64_t c0, int64_t* base, float** out) {
                    *base = (((n * Zp + ax[0].z0(in[0]) + ax[0].before()) * Pp + ax[1].z0(in[1]) + ax[1].before()) *
                                 Qp +
                             ax[2].z0(in[2]) + ax[2].before()) *
                            p.K;
                    *out = dx_rows.get() + (((n * p.D + in[0]) * p.H + in[1]) * p.W + in[2]) * p.C + c0;
                  });
  const int64_t dhw = p.D * p.H * p.W;
  rows_to_planes(p.C, dhw, dx_rows.get(), dx, p.N);
}

}  // namespace mtmap::cpu
