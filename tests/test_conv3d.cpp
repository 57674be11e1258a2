// conv3d: float64 gradient checks of the reference loops over the model's kernel shapes, odd
// sizes, strides, paddings and dilations (the default path's are generated from tests/op_table.cpp);
// the GEMM path against the direct loops in float32.
#include "engine/ops/conv3d.h"
#include "kernels/cpu/conv3d_direct.h"
#include "kernels/cpu/cpu_features.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "tests/test_support.h"

using namespace mtmap;
using test::leaf;
using Ts = std::vector<Tensor>;

namespace {

struct Case {
  const char* name;
  Shape x, w;
  Conv3dOptions o;
};

Conv3dOptions opts(std::array<int64_t, 3> stride, std::array<int64_t, 3> pad, std::array<int64_t, 3> dil = {1, 1, 1}) {
  Conv3dOptions o;
  o.stride = stride;
  o.padding = pad;
  o.dilation = dil;
  return o;
}

std::vector<Case> cases() {
  return {
      {"1x1x1", {2, 3, 3, 4, 5}, {4, 3, 1, 1, 1}, opts({1, 1, 1}, {0, 0, 0})},
      {"1x1x1_stride2", {1, 3, 5, 5, 4}, {2, 3, 1, 1, 1}, opts({2, 2, 2}, {0, 0, 0})},
      {"3x3x3_pad1", {2, 2, 3, 5, 4}, {3, 2, 3, 3, 3}, opts({1, 1, 1}, {1, 1, 1})},
      {"3x3x3_stride2_odd", {1, 2, 5, 7, 6}, {2, 2, 3, 3, 3}, opts({2, 2, 2}, {1, 1, 1})},
      {"3x7x7_stem", {1, 3, 3, 9, 8}, {2, 3, 3, 7, 7}, opts({1, 2, 2}, {1, 3, 3})},
      {"7x7x7_hara_stem", {1, 2, 7, 8, 7}, {2, 2, 7, 7, 7}, opts({1, 2, 2}, {3, 3, 3})},
      {"dilated_asym", {1, 2, 5, 6, 7}, {2, 2, 2, 3, 2}, opts({1, 2, 1}, {0, 2, 1}, {2, 1, 3})},
  };
}

// The vector instruction sets this CPU has, best first: the direct kernels run under each.
std::vector<cpu::SimdIsa> vector_isas() {
  std::vector<cpu::SimdIsa> isas;
  for (cpu::SimdIsa isa : {cpu::SimdIsa::avx512, cpu::SimdIsa::avx2})
    if (int(isa) <= int(cpu::simd_isa_supported())) isas.push_back(isa);
  return isas;
}

// Both sets sum every output in the same order: their results must agree bit for bit.
void require_same_bits(const std::vector<std::vector<float>>& per_isa) {
  for (size_t k = 1; k < per_isa.size(); ++k) {
    REQUIRE(per_isa[k].size() == per_isa[0].size());
    for (size_t i = 0; i < per_isa[0].size(); ++i) REQUIRE(per_isa[k][i] == per_isa[0][i]);
  }
}

}  // namespace

// The default algorithm (vol2col + GEMM in float64) is gradient-checked on these cases by the op
// table (tests/op_table.cpp); this checks the other implementation, the reference loops.
TEST_CASE("conv3d float64 gradient checks of the reference loops", "[gradcheck][conv3d]") {
  uint64_t seed = 100;
  for (const Case& c : cases()) {
    Conv3dOptions o = c.o;
    o.cpu_algo = CpuConvAlgo::reference;
    // The seeds these cases had when the GEMM cases (now in the op table) drew 1 and 2 of each 4.
    Tensor x = leaf(c.x, seed + 3), w = leaf(c.w, seed + 4);
    seed += 4;
    REQUIRE_GRADCHECK(std::string("conv3d_") + c.name + "_reference", [o](const Ts& in) { return conv3d(in[0], in[1], o); },
                      {x, w});
  }
}

TEST_CASE("conv3d GEMM path matches the direct loops in float32", "[conv3d]") {
  uint64_t seed = 300;
  for (const Case& c : cases()) {
    Generator g(++seed);
    Tensor x = randn(c.x, g), w = randn(c.w, g);
    Conv3dProblem p = conv3d_problem(c.x, c.w, c.o);
    Tensor dy = randn({p.N, p.K, p.Z, p.P, p.Q}, g);
    auto compare = [&](const Tensor& a, const Tensor& b) {
      std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
      REQUIRE(va.size() == vb.size());
      for (size_t i = 0; i < va.size(); ++i) REQUIRE(va[i] == Approx(vb[i]).epsilon(1e-4).margin(1e-4));
    };
    INFO(c.name);
    Conv3dOptions ref = c.o;
    ref.cpu_algo = CpuConvAlgo::reference;
    compare(conv3d(x, w, c.o), conv3d(x, w, ref));
    compare(conv3d_dgrad(dy, w, p, CpuConvAlgo::gemm), conv3d_dgrad(dy, w, p, CpuConvAlgo::reference));
    compare(conv3d_wgrad(x, dy, p, CpuConvAlgo::gemm), conv3d_wgrad(x, dy, p, CpuConvAlgo::reference));
  }
}

TEST_CASE("conv3d direct channels-last wgrad matches the direct loops in float32", "[conv3d]") {
  // Input channels: one 16-lane vector, two (the two-vector kernel), a padded 14 → 16; output
  // channels: full 16- and 12-row blocks and short last blocks; strides, paddings that differ per
  // axis, dilations, the model's 1×1×1 stride-2 downsample, 1- and several-sample batches.
  const Case wgrad_cases[] = {
      {"c16_k16_3x3x3_pad1", {2, 16, 4, 5, 6}, {16, 16, 3, 3, 3}, opts({1, 1, 1}, {1, 1, 1})},
      {"c32_k20_3x3x3_nopad", {1, 32, 4, 5, 7}, {20, 32, 3, 3, 3}, opts({1, 1, 1}, {0, 0, 0})},
      {"c14_k5_3x7x7_pad133", {2, 14, 3, 5, 6}, {5, 14, 3, 7, 7}, opts({1, 1, 1}, {1, 3, 3})},
      {"c16_k3_dilated_asym", {1, 16, 6, 7, 8}, {3, 16, 2, 3, 2}, opts({1, 2, 1}, {0, 2, 1}, {2, 1, 3})},
      {"c32_k40_stride2_3x3x3", {2, 32, 5, 7, 6}, {40, 32, 3, 3, 3}, opts({2, 2, 2}, {1, 1, 1})},
      {"c16_k32_1x1x1_stride2", {3, 16, 4, 5, 5}, {32, 16, 1, 1, 1}, opts({2, 2, 2}, {0, 0, 0})},
      {"c48_k17_3x3x3_q1", {2, 48, 3, 1, 1}, {17, 48, 3, 3, 3}, opts({1, 1, 1}, {1, 1, 1})},
      // Few channels, unfolded along W: the r3d stem, the Hara stem, a dilated 2-channel case.
      {"stem_c3_k16_3x7x7_s122", {2, 3, 3, 9, 21}, {16, 3, 3, 7, 7}, opts({1, 2, 2}, {1, 3, 3})},
      {"hara_c3_k8_7x7x7_s122", {1, 3, 7, 8, 9}, {8, 3, 7, 7, 7}, opts({1, 2, 2}, {3, 3, 3})},
      {"c2_k5_1x3x7_dil2_s3", {2, 2, 2, 5, 30}, {5, 2, 1, 3, 7}, opts({1, 1, 3}, {0, 1, 2}, {1, 1, 2})},
  };
  const std::vector<cpu::SimdIsa> isas = vector_isas();
  if (isas.empty()) {
    WARN("this CPU has neither AVX2 nor AVX-512: the direct wgrad kernel is not exercised");
    return;
  }
  uint64_t seed = 700;
  for (const Case& c : wgrad_cases) {
    INFO(c.name);
    Conv3dProblem p = conv3d_problem(c.x, c.w, c.o);
    Generator g(++seed);
    Tensor x = randn(c.x, g), dy = randn({p.N, p.K, p.Z, p.P, p.Q}, g);
    std::vector<float> b = conv3d_wgrad(x, dy, p, CpuConvAlgo::reference).to_vector<float>();
    std::vector<std::vector<float>> per_isa;
    for (cpu::SimdIsa isa : isas) {
      cpu::ScopedSimdIsa scope(isa);
      INFO(cpu::simd_isa_name(isa));
      REQUIRE(cpu::conv3d_wgrad_direct_supported(p));
      std::vector<float> a = conv3d_wgrad(x, dy, p, CpuConvAlgo::direct).to_vector<float>();
      std::vector<float> f = conv3d_wgrad(x, dy, p, CpuConvAlgo::fast).to_vector<float>();
      REQUIRE(a.size() == b.size());
      // Sums of N·Z·P·Q products of N(0, 1) values in float32: 1e-5 per term (a wrong tap, channel
      // or sample is off by O(1)).
      const double margin = 1e-5 * double(p.output_positions());
      for (size_t i = 0; i < a.size(); ++i) {
        REQUIRE(a[i] == Approx(b[i]).epsilon(1e-4).margin(margin));
        if (p.filter_volume() > 1) REQUIRE(f[i] == a[i]);  // `fast` takes this kernel where it applies
      }
      per_isa.push_back(std::move(a));
    }
    require_same_bits(per_isa);
  }
  // 5 channels and a 1-wide filter fill a third of a vector even unfolded: asking for the kernel
  // names the reason; `fast` falls back to vol2col + GEMM; float64 is never direct.
  Conv3dProblem thin = conv3d_problem({1, 5, 3, 4, 4}, {2, 5, 3, 3, 1}, opts({1, 1, 1}, {1, 1, 0}));
  Tensor x = zeros({1, 5, 3, 4, 4}), dy = zeros({1, 2, thin.Z, thin.P, thin.Q});
  CHECK_THROWS_WITH(conv3d_wgrad(x, dy, thin, CpuConvAlgo::direct), Catch::Contains("input channels"));
  CHECK(conv3d_wgrad(x, dy, thin, CpuConvAlgo::fast).shape() == Shape{2, 5, 3, 3, 1});
  Conv3dProblem p64 = conv3d_problem({1, 16, 3, 3, 3}, {16, 16, 1, 1, 1}, opts({1, 1, 1}, {0, 0, 0}));
  CHECK_THROWS_WITH(conv3d_wgrad(zeros({1, 16, 3, 3, 3}), zeros({1, 16, 3, 3, 3}), p64, CpuConvAlgo::direct_channels_last),
                    Catch::Contains("no channels-last variant"));
  CHECK_THROWS_WITH(conv3d_wgrad(zeros({1, 16, 3, 3, 3}, DType::f64), zeros({1, 16, 3, 3, 3}, DType::f64), p64,
                                 CpuConvAlgo::direct),
                    Catch::Contains("float32"));
}

TEST_CASE("conv3d problem: output size, FLOPs, GEMM views", "[conv3d]") {
  // The r3d stem at full scale: 3→64, 3×7×7, stride (1,2,2), pad (1,3,3) on 16×112×112.
  Conv3dOptions o = opts({1, 2, 2}, {1, 3, 3});
  Conv3dProblem p = conv3d_problem({1, 3, 16, 112, 112}, {64, 3, 3, 7, 7}, o);
  CHECK(p.Z == 16);
  CHECK(p.P == 56);
  CHECK(p.Q == 56);
  GemmShape f = p.gemm_view(ConvOperator::fprop);
  CHECK(f.m == 50176);
  CHECK(f.n == 64);
  CHECK(f.k == 441);
  CHECK(p.flops() == 2 * 50176LL * 64 * 441);  // 2.83 GFLOP, as in docs/perf/targets.md's per-layer table
  GemmShape d = p.gemm_view(ConvOperator::dgrad), w = p.gemm_view(ConvOperator::wgrad);
  CHECK(d.m * d.n * d.k * 2 >= p.flops());  // dgrad's GEMM covers strided-out taps too
  CHECK(w.m == 64);
  CHECK(w.n == 441);
  CHECK(w.k == 50176);
}

TEST_CASE("conv3d errors name the shapes", "[conv3d][errors]") {
  CHECK_THROWS_WITH(conv3d(zeros({1, 3, 4, 4, 4}), zeros({2, 4, 1, 1, 1})),
                    Catch::Contains("[1, 3, 4, 4, 4]") && Catch::Contains("[2, 4, 1, 1, 1]"));
  CHECK_THROWS_WITH(conv3d(zeros({1, 3, 4, 4}), zeros({2, 3, 1, 1, 1})), Catch::Contains("(N, C, D, H, W)"));
  CHECK_THROWS_WITH(conv3d(zeros({1, 1, 2, 2, 2}), zeros({1, 1, 3, 3, 3})), Catch::Contains("smaller"));
}

TEST_CASE("conv3d direct kernels (fprop and dgrad) match the direct loops in float32", "[conv3d]") {
  struct DirectCase {
    const char* name;
    Shape x, w;
    std::array<int64_t, 3> pad;
    std::array<int64_t, 3> stride = {1, 1, 1};
  };
  // Output widths below, at and above one 16-column vector, with a masked tail; 8 and 16
  // channels per register block; paddings that make the dgrad's flipped problem differ.
  const DirectCase direct_cases[] = {
      {"3x3x3_k16_q32", {2, 8, 4, 5, 32}, {16, 8, 3, 3, 3}, {1, 1, 1}},
      {"3x3x3_k8_q21", {1, 16, 3, 4, 21}, {8, 16, 3, 3, 3}, {1, 1, 1}},
      {"3x3x3_k24_q37_nopad", {1, 8, 5, 6, 39}, {24, 8, 3, 3, 3}, {0, 0, 0}},
      {"1x1x1_k16_q7", {3, 8, 2, 3, 7}, {16, 8, 1, 1, 1}, {0, 0, 0}},
      {"3x7x7_k16_pad313", {1, 8, 3, 9, 18}, {16, 8, 3, 7, 7}, {1, 3, 3}},
      // Strided (fprop only; polyphase rows): the r3d stem with 3 channels, odd and even padded
      // widths, stride 2 on every axis, a 1×1×1 stride-2 downsample, stride 3 along W.
      {"stem_3x7x7_s122_c3", {2, 3, 3, 9, 37}, {16, 3, 3, 7, 7}, {1, 3, 3}, {1, 2, 2}},
      {"3x3x3_s222_k8_w20", {1, 8, 5, 6, 20}, {8, 8, 3, 3, 3}, {1, 1, 1}, {2, 2, 2}},
      {"1x1x1_s222_k16_w9", {2, 8, 4, 5, 9}, {16, 8, 1, 1, 1}, {0, 0, 0}, {2, 2, 2}},
      {"3x3x3_s113_k24_w50", {1, 5, 3, 4, 50}, {24, 5, 3, 3, 3}, {0, 1, 1}, {1, 1, 3}},
      // Short rows (the channels-last kernel's: 6-position blocks across rows and samples, full
      // and short 64-channel blocks): layer3/layer4-like and a 1-column row.
      {"cl_k32_c16_q3", {2, 16, 3, 4, 3}, {32, 16, 3, 3, 3}, {1, 1, 1}},
      {"cl_k64_c32_q1", {3, 32, 2, 1, 1}, {64, 32, 3, 3, 3}, {1, 1, 1}},
      {"cl_k80_c16_s222", {2, 16, 5, 6, 7}, {80, 16, 3, 3, 3}, {1, 1, 1}, {2, 2, 2}},
      {"cl_k128_c48_q4", {2, 48, 1, 4, 4}, {128, 48, 3, 3, 3}, {1, 1, 1}},
      // Strided input gradients (the channels-last dgrad's stride phases): stride 3 along W only,
      // a 1×1×1 stride-2 downsample (phases without taps), padding beyond kernel − 1.
      {"cl_dgrad_c16_s113", {1, 16, 3, 4, 11}, {8, 16, 3, 3, 3}, {0, 1, 1}, {1, 1, 3}},
      {"cl_dgrad_ds_c16_k32_s222", {2, 16, 5, 5, 4}, {32, 16, 1, 1, 1}, {0, 0, 0}, {2, 2, 2}},
      {"cl_dgrad_pad2_c32_s222", {1, 32, 5, 6, 7}, {16, 32, 3, 3, 3}, {2, 2, 2}, {2, 2, 2}},
  };
  const std::vector<cpu::SimdIsa> isas = vector_isas();
  if (isas.empty()) {
    WARN("this CPU has neither AVX2 nor AVX-512: the direct kernels are not exercised");
    return;
  }
  uint64_t seed = 500;
  for (const DirectCase& c : direct_cases) {
    INFO(c.name);
    Conv3dOptions o;
    o.padding = c.pad;
    o.stride = c.stride;
    Conv3dProblem p = conv3d_problem(c.x, c.w, o);
    Generator g(++seed);
    Tensor x = randn(c.x, g), w = randn(c.w, g), dy = randn({p.N, p.K, p.Z, p.P, p.Q}, g);
    // float32 sums of n products of N(0,1) values: rounding grows like √n·|sum| ~ n·1e-7; the
    // margin allows 1e-5 per term (a wrong tap or channel is off by O(1)).
    auto compare = [&](const Tensor& a, const Tensor& b, int64_t terms) {
      std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
      REQUIRE(va.size() == vb.size());
      for (size_t i = 0; i < va.size(); ++i) REQUIRE(va[i] == Approx(vb[i]).epsilon(1e-4).margin(1e-5 * double(terms)));
      return va;
    };
    Conv3dOptions direct = o, ref = o, cl = o;
    direct.cpu_algo = CpuConvAlgo::direct;
    ref.cpu_algo = CpuConvAlgo::reference;
    cl.cpu_algo = CpuConvAlgo::direct_channels_last;
    const Tensor expected = conv3d(x, w, ref), expected_dx = conv3d_dgrad(dy, w, p, CpuConvAlgo::reference);
    const bool strided = p.stride_d * p.stride_h * p.stride_w > 1;
    // Per kernel, its output under each set that runs it.
    std::vector<std::vector<float>> rows, cl_fprop, cl_dgrad, rows_dgrad;
    for (cpu::SimdIsa isa : isas) {
      cpu::ScopedSimdIsa scope(isa);
      INFO(cpu::simd_isa_name(isa));
      REQUIRE(cpu::conv3d_direct_supported(p));
      rows.push_back(compare(conv3d(x, w, direct), expected, p.C * p.filter_volume()));
      // Channels-last needs output channels in whole vectors: under AVX2 (8 lanes) every case,
      // under AVX-512 (16) all but those with 8 or 24.
      REQUIRE(cpu::conv3d_fprop_channels_last_supported(p) == (p.K % cpu::simd_lanes(isa) == 0));
      if (cpu::conv3d_fprop_channels_last_supported(p)) {
        cl_fprop.push_back(compare(conv3d(x, w, cl), expected, p.C * p.filter_volume()));
        // Under AVX2 `fast` takes the channels-last kernel wherever it applies (docs/perf/cpu.md).
        if (isa == cpu::SimdIsa::avx2 && p.filter_volume() > 1) REQUIRE(conv3d(x, w, o).to_vector<float>() == cl_fprop.back());
      }
      if (cpu::conv3d_dgrad_channels_last_supported(p))
        cl_dgrad.push_back(compare(conv3d_dgrad(dy, w, p, CpuConvAlgo::direct_channels_last), expected_dx,
                                   p.K * p.filter_volume()));
      REQUIRE(cpu::conv3d_dgrad_direct_supported(p) == !strided);
      if (!strided)
        rows_dgrad.push_back(
            compare(conv3d_dgrad(dy, w, p, CpuConvAlgo::direct), expected_dx, p.K * p.filter_volume()));
    }
    for (const auto* outputs : {&rows, &cl_fprop, &cl_dgrad, &rows_dgrad}) require_same_bits(*outputs);
  }
  // Dilated problems are not the direct kernel's: asking for it is an error, `fast` falls back.
  Conv3dOptions dilated;
  dilated.dilation = {1, 2, 1};
  dilated.cpu_algo = CpuConvAlgo::direct;
  CHECK_THROWS_WITH(conv3d(zeros({1, 8, 4, 6, 4}), zeros({8, 8, 1, 3, 1}), dilated), Catch::Contains("no dilation"));
  dilated.cpu_algo = CpuConvAlgo::fast;
  CHECK(conv3d(zeros({1, 8, 4, 6, 4}), zeros({8, 8, 1, 3, 1}), dilated).shape() == Shape{1, 8, 4, 2, 4});
}

TEST_CASE("conv3d problem: effective FLOPs count the taps that read input", "[conv3d]") {
  // Against a count of the multiply-adds a loop over every output position and tap does when it
  // skips taps outside the input, for strides, dilations, odd sizes and a tap wider than the input.
  auto brute = [](const Conv3dProblem& p) {
    int64_t macs = 0;
    for (int64_t z = 0; z < p.Z; ++z)
      for (int64_t y = 0; y < p.P; ++y)
        for (int64_t x = 0; x < p.Q; ++x)
          for (int64_t t = 0; t < p.T; ++t)
            for (int64_t r = 0; r < p.R; ++r)
              for (int64_t s = 0; s < p.S; ++s) {
                const int64_t d = z * p.stride_d - p.pad_d + t * p.dil_d, h = y * p.stride_h - p.pad_h + r * p.dil_h,
                              w = x * p.stride_w - p.pad_w + s * p.dil_w;
                macs += d >= 0 && d < p.D && h >= 0 && h < p.H && w >= 0 && w < p.W;
              }
    return 2 * p.N * p.K * p.C * macs;
  };
  Conv3dOptions o;
  o.padding = {1, 3, 3}, o.stride = {1, 2, 2};
  Conv3dProblem stem = conv3d_problem({2, 3, 8, 64, 64}, {16, 3, 3, 7, 7}, o);
  CHECK(stem.effective_flops() == brute(stem));
  CHECK(stem.effective_flops() < stem.flops());
  o.padding = {1, 1, 1}, o.stride = {1, 1, 1};
  Conv3dProblem layer4 = conv3d_problem({16, 128, 1, 4, 4}, {128, 128, 3, 3, 3}, o);  // quickstart's layer4
  CHECK(layer4.effective_flops() == brute(layer4));
  // One frame: 1 of its 3 time taps reads input; 4 rows of 3 taps: 10 of 12 pairs read input (the
  // edges' outer taps do not); so 1 x 10 x 10 of 1 x 4 x 4 x 27 (output positions x taps).
  CHECK(layer4.effective_flops() * 432 == layer4.flops() * 100);
  o.padding = {2, 0, 1}, o.stride = {2, 3, 1}, o.dilation = {2, 1, 3};
  Conv3dProblem odd = conv3d_problem({1, 2, 7, 5, 9}, {3, 2, 3, 2, 4}, o);
  CHECK(odd.effective_flops() == brute(odd));
  o = Conv3dOptions{};
  Conv3dProblem full = conv3d_problem({1, 2, 4, 4, 4}, {3, 2, 1, 1, 1}, o);
  CHECK(full.effective_flops() == full.flops());
}
