// conv3d: float64 gradient checks of both implementations over the model's kernel shapes, odd
// sizes, strides, paddings and dilations; the GEMM path against the direct loops in float32.
#include "engine/ops/conv3d.h"
#include "kernels/cpu/conv3d_direct.h"
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

}  // namespace

TEST_CASE("conv3d float64 gradient checks, both implementations", "[gradcheck][conv3d]") {
  uint64_t seed = 100;
  for (const Case& c : cases())
    for (cpu::ConvAlgo algo : {cpu::ConvAlgo::gemm, cpu::ConvAlgo::reference}) {
      Conv3dOptions o = c.o;
      o.cpu_algo = algo;
      Tensor x = leaf(c.x, ++seed), w = leaf(c.w, ++seed);
      std::string name = std::string("conv3d_") + c.name + (algo == cpu::ConvAlgo::gemm ? "_gemm" : "_reference");
      REQUIRE_GRADCHECK(name, [o](const Ts& in) { return conv3d(in[0], in[1], o); }, {x, w});
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
    ref.cpu_algo = cpu::ConvAlgo::reference;
    compare(conv3d(x, w, c.o), conv3d(x, w, ref));
    compare(conv3d_dgrad(dy, w, p, cpu::ConvAlgo::gemm), conv3d_dgrad(dy, w, p, cpu::ConvAlgo::reference));
    compare(conv3d_wgrad(x, dy, p, cpu::ConvAlgo::gemm), conv3d_wgrad(x, dy, p, cpu::ConvAlgo::reference));
  }
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
  CHECK(p.flops() == 2 * 50176LL * 64 * 441);  // 2.83 GFLOP, PERFORMANCE.md's table
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

TEST_CASE("conv3d direct AVX-512 kernel (fprop and dgrad) matches the direct loops in float32", "[conv3d]") {
  struct DirectCase {
    const char* name;
    Shape x, w;
    std::array<int64_t, 3> pad;
  };
  // Output widths below, at and above one 16-column vector, with a masked tail; 8 and 16
  // channels per register block; paddings that make the dgrad's flipped problem differ.
  const DirectCase direct_cases[] = {
      {"3x3x3_k16_q32", {2, 8, 4, 5, 32}, {16, 8, 3, 3, 3}, {1, 1, 1}},
      {"3x3x3_k8_q21", {1, 16, 3, 4, 21}, {8, 16, 3, 3, 3}, {1, 1, 1}},
      {"3x3x3_k24_q37_nopad", {1, 8, 5, 6, 39}, {24, 8, 3, 3, 3}, {0, 0, 0}},
      {"1x1x1_k16_q7", {3, 8, 2, 3, 7}, {16, 8, 1, 1, 1}, {0, 0, 0}},
      {"3x7x7_k16_pad313", {1, 8, 3, 9, 18}, {16, 8, 3, 7, 7}, {1, 3, 3}},
  };
  uint64_t seed = 500;
  for (const DirectCase& c : direct_cases) {
    INFO(c.name);
    Conv3dOptions o;
    o.padding = c.pad;
    Conv3dProblem p = conv3d_problem(c.x, c.w, o);
    if (!cpu::conv3d_direct_supported(p)) {
      WARN("this CPU has no AVX-512: the direct kernel is not exercised");
      return;
    }
    Generator g(++seed);
    Tensor x = randn(c.x, g), w = randn(c.w, g), dy = randn({p.N, p.K, p.Z, p.P, p.Q}, g);
    // float32 sums of n products of N(0,1) values: rounding grows like √n·|sum| ~ n·1e-7; the
    // margin allows 1e-5 per term (a wrong tap or channel is off by O(1)).
    auto compare = [&](const Tensor& a, const Tensor& b, int64_t terms) {
      std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
      REQUIRE(va.size() == vb.size());
      for (size_t i = 0; i < va.size(); ++i) REQUIRE(va[i] == Approx(vb[i]).epsilon(1e-4).margin(1e-5 * double(terms)));
    };
    Conv3dOptions direct = o, ref = o;
    direct.cpu_algo = cpu::ConvAlgo::direct;
    ref.cpu_algo = cpu::ConvAlgo::reference;
    compare(conv3d(x, w, direct), conv3d(x, w, ref), p.C * p.filter_volume());
    REQUIRE(cpu::conv3d_dgrad_direct_supported(p));
    compare(conv3d_dgrad(dy, w, p, cpu::ConvAlgo::direct), conv3d_dgrad(dy, w, p, cpu::ConvAlgo::reference),
            p.K * p.filter_volume());
  }
  // Strided problems are not the direct kernel's: asking for it is an error, `fast` falls back.
  Conv3dOptions strided;
  strided.stride = {2, 2, 2};
  strided.cpu_algo = cpu::ConvAlgo::direct;
  CHECK_THROWS(conv3d(zeros({1, 8, 4, 4, 4}), zeros({8, 8, 1, 1, 1}), strided));
  strided.cpu_algo = cpu::ConvAlgo::fast;
  CHECK(conv3d(zeros({1, 8, 4, 4, 4}), zeros({8, 8, 1, 1, 1}), strided).shape() == Shape{1, 8, 2, 2, 2});
}
