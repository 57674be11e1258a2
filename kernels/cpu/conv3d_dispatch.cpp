// Which implementation runs each convolution operator: an explicit CpuConvAlgo is checked against
// what its kernel supports (a clear error otherwise); `fast` picks by rules measured on the r3d-18
// layers at the quickstart scale (2 AVX-512 cores; docs/perf/cpu.md):
//  - conv_row (`direct`, vectorised along output rows) where the rows fill at least 3/4 of their
//    16-lane vectors: layer1/2 (32 and 16 columns) and the stem;
//  - the channels-last kernels (vectorised along output channels) for shorter rows: layer3's 8
//    columns and layer4's 4 fill half and a quarter of conv_row's vectors; and for every strided
//    dgrad (one stride-1 sub-problem per stride phase), which conv_row cannot take;
//  - vol2col + GEMM for 1×1×1 filters (too few FMAs per element to repay a padded copy of the
//    input), dilations, float64, channel counts the direct kernels do not take, neither AVX2 nor
//    AVX-512.
// Under AVX2 (cpu_features.h) the channels-last kernels come first wherever they apply.
// wgrad's direct kernel vectorises along channels, so row length does not matter to it.
#include <stdexcept>
#include <string>

#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/conv3d_direct.h"
#include "kernels/cpu/conv3d_gemm.h"
#include "kernels/cpu/conv3d_reference.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {
namespace {

// What an operator's direct kernels accept for this problem, and whether they pay.
struct Options {
  bool direct_ok = false, direct_pays = false;
  bool channels_last_ok = false, channels_last_pays = false;
  const char* direct_needs = "";
  const char* channels_last_needs = "";
};

bool rows_fill_vectors(int64_t cols) { return cols * 4 >= (cols + 15) / 16 * 16 * 3; }

CpuConvAlgo resolve(CpuConvAlgo algo, DType t, const Options& o, const char* op) {
  const bool f32 = t == DType::f32;
  if (algo == CpuConvAlgo::fast) {
    // Under AVX2 the channels-last kernels beat conv_row even on long rows (layer1/layer2 fprop and
    // dgrad at 59–69 against 45–49 GFLOP/s on Zen 3, docs/perf/cpu.md): they take whatever they support.
    if (f32 && simd_isa() == SimdIsa::avx2 && o.channels_last_ok && o.channels_last_pays)
      return CpuConvAlgo::direct_channels_last;
    if (f32 && o.direct_ok && o.direct_pays) return CpuConvAlgo::direct;
    if (f32 && o.channels_last_ok && o.channels_last_pays) return CpuConvAlgo::direct_channels_last;
    return CpuConvAlgo::gemm;
  }
  if (algo == CpuConvAlgo::direct && !(f32 && o.direct_ok))
    throw std::invalid_argument(std::string(op) + ": the direct kernel needs float32, " + o.direct_needs +
                                " and an AVX2 or AVX-512 CPU");
  if (algo == CpuConvAlgo::direct_channels_last && !(f32 && o.channels_last_ok))
    throw std::invalid_argument(std::string(op) + ": the channels-last direct kernel needs float32, " +
                                o.channels_last_needs + " and an AVX2 or AVX-512 CPU");
  return algo;
}

// Runs one operator's reference or GEMM implementation in the C++ type of `t`; `a`, `b` are the
// operator's two inputs and `out` its output, in the order the implementations take them.
template <class Reference, class Gemm>
void run_typed(const char* op, DType t, CpuConvAlgo algo, const void* a, const void* b, void* out, Reference reference,
               Gemm gemm) {
  float_switch(op, t, [&](auto zero) {
    using T = decltype(zero);
    auto* ta = static_cast<const T*>(a);
    auto* tb = static_cast<const T*>(b);
    auto* to = static_cast<T*>(out);
    if (algo == CpuConvAlgo::reference)
      reference(ta, tb, to);
    else
      gemm(ta, tb, to);
  });
}

const float* f(const void* p) { return static_cast<const float*>(p); }
float* f(void* p) { return static_cast<float*>(p); }

}  // namespace

void conv3d_fprop(DType t, CpuConvAlgo algo_in, const Conv3dProblem& p, const void* x, const void* w, void* y) {
  const bool taps = p.filter_volume() > 1;
  const Options o{conv3d_direct_supported(p), taps && rows_fill_vectors(p.Q), conv3d_fprop_channels_last_supported(p),
                  taps, "no dilation and output channels in multiples of 8",
                  "no dilation and output channels in multiples of 16"};
  const CpuConvAlgo algo = resolve(algo_in, t, o, "conv3d_fprop");
  if (algo == CpuConvAlgo::direct) return conv3d_fprop_direct(p, f(x), f(w), f(y));
  if (algo == CpuConvAlgo::direct_channels_last) return conv3d_fprop_channels_last(p, f(x), f(w), f(y));
  run_typed("conv3d_fprop", t, algo, x, w, y, [&](auto a, auto b, auto out) { conv3d_fprop_reference(p, a, b, out); },
            [&](auto a, auto b, auto out) { fprop_gemm(p, a, b, out); });
}

void conv3d_dgrad(DType t, CpuConvAlgo algo_in, const Conv3dProblem& p, const void* dy, const void* w, void* dx) {
  const bool taps = p.filter_volume() > 1;
  const Options o{conv3d_dgrad_direct_supported(p), taps && rows_fill_vectors(p.W),
                  conv3d_dgrad_channels_last_supported(p), taps,
                  "stride 1, no dilation, padding below the kernel size and channels in multiples of 8",
                  "no dilation and input channels in multiples of 16"};
  const CpuConvAlgo algo = resolve(algo_in, t, o, "conv3d_dgrad");
  if (algo == CpuConvAlgo::direct) return conv3d_dgrad_direct(p, f(dy), f(w), f(dx));
  if (algo == CpuConvAlgo::direct_channels_last) return conv3d_dgrad_channels_last(p, f(dy), f(w), f(dx));
  run_typed("conv3d_dgrad", t, algo, dy, w, dx, [&](auto a, auto b, auto out) { conv3d_dgrad_reference(p, a, b, out); },
            [&](auto a, auto b, auto out) { dgrad_gemm(p, a, b, out); });
}

void conv3d_wgrad(DType t, CpuConvAlgo algo_in, const Conv3dProblem& p, const void* x, const void* dy, void* dw) {
  const Options o{conv3d_wgrad_direct_supported(p), p.filter_volume() > 1, false, false,
                  "input channels (times the filter width, where fewer than 13) that fill 16-lane vectors",
                  "a forward or input-gradient pass (wgrad has no channels-last variant)"};
  const CpuConvAlgo algo = resolve(algo_in, t, o, "conv3d_wgrad");
  if (algo == CpuConvAlgo::direct) return conv3d_wgrad_direct(p, f(x), f(dy), f(dw));
  run_typed("conv3d_wgrad", t, algo, x, dy, dw, [&](auto a, auto b, auto out) { conv3d_wgrad_reference(p, a, b, out); },
            [&](auto a, auto b, auto out) { wgrad_gemm(p, a, b, out); });
}

}  // namespace mtmap::cpu
