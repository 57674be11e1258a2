// The tensor-core implicit-GEMM conv3d kernel (kernels/cuda/conv3d_igemm.cuh), its own source
// compiled for the CPU emulator (tests/cuda_emu/emulator), against the float64 direct loops.
//
// Operands are multiples of 1/8 in [-1, 1]: exact in bf16 and TF32, with products and every
// partial sum exact in fp32, so whatever order the MMAs and the split-K reduction add in, the
// kernel's result must equal the reference rounded once to the output type: bit for bit. A wrong
// fragment layout, tile edge, split or loader branch cannot hide inside a tolerance.
// Every case runs each tile shape, with one split and with three, on every loader branch (element
// loads always; where the channel counts allow, 16-byte loads through registers and the cp.async
// multi-stage kernel, which all three operators take, wgrad with [k][row] shared tiles read by
// ldmatrix.trans), the output poisoned with NaN. Strided dgrad also runs as its stride phases.
//
// Exact operands cannot show a conversion that rounds the wrong way (or not at all): a second set
// of tests uses uniform values that round in bf16 and TF32, and checks each output against the
// float64 product of the operands as the tensor cores must see them (TF32 rounded to nearest,
// ties away; bf16 as stored) within what f32 accumulation and the final rounding explain.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/conv3d_reference.h"
#include "kernels/cuda/conv3d_igemm.cuh"
#include "tests/cuda_emu/emulator/emu.h"
#include "tests/cuda_emu/emu_test_util.h"

using namespace mtmap;
using mtmap::emu_test::channels_last;
using mtmap::emu_test::from_double;
using mtmap::emu_test::poisoned;
using mtmap::emu_test::to_double;
using mtmap::emu_test::to_storage;
using mtmap::emu_test::random_eighths;

namespace {

struct Case {
  const char* name;
  int N, C, D, H, W, K, T, R, S;
  int sd, sh, sw, pd, ph, pw, dd, dh, dw;
};

// Small enough for the emulator, big enough for several tiles along M (and N for wgrad), ragged
// edges on every side, odd and multiple-of-8 channel counts, strides, dilation, the stem's 3 channels.
const Case kCases[] = {
    {"3x3x3_c16_k16", 2, 16, 4, 5, 6, 16, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"3x3x3_stride2_c8_k24", 1, 8, 5, 7, 6, 24, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1},
    {"1x1x1_downsample_c16_k72", 2, 16, 5, 6, 4, 72, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1},
    {"stem_c3_k8", 1, 3, 3, 9, 8, 8, 3, 7, 7, 1, 2, 2, 1, 3, 3, 1, 1, 1},
    {"odd_c5_k3", 2, 5, 4, 5, 3, 3, 2, 3, 2, 1, 1, 1, 1, 0, 1, 1, 1, 1},
    {"dilated_c8_k8", 1, 8, 5, 6, 7, 8, 2, 3, 2, 1, 2, 1, 0, 2, 1, 2, 1, 3},
    {"wide_m_c8_k136", 1, 8, 2, 16, 10, 136, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1},
};

Conv3dProblem problem_of(const Case& c) {
  Conv3dProblem p;
  p.N = c.N, p.C = c.C, p.D = c.D, p.H = c.H, p.W = c.W, p.K = c.K, p.T = c.T, p.R = c.R, p.S = c.S;
  p.stride_d = c.sd, p.stride_h = c.sh, p.stride_w = c.sw;
  p.pad_d = c.pd, p.pad_h = c.ph, p.pad_w = c.pw;
  p.dil_d = c.dd, p.dil_h = c.dh, p.dil_w = c.dw;
  p.compute_output();
  return p;
}

struct Operands {
  std::vector<double> a, b, expected;  // channels-last GEMM operands and the channels-last result
  std::vector<double> magnitude;       // operands that round: Σ|products| of each output
};

// The GEMM operands and the reference result of operator op from the convolution's x, w and dy.
Operands operands_from(const Conv3dProblem& p, ConvOperator op, const std::vector<double>& x,
                       const std::vector<double>& w, const std::vector<double>& dy) {
  const int64_t in_sp = p.D * p.H * p.W, out_sp = p.Z * p.P * p.Q, taps = p.filter_volume();
  Operands o;
  switch (op) {
    case ConvOperator::fprop: {
      std::vector<double> y(size_t(p.output_elements()));
      cpu::conv3d_fprop_reference(p, x.data(), w.data(), y.data());
      o.a = channels_last(x, p.N, p.C, in_sp);
      o.b = channels_last(w, p.K, p.C, taps);  // (K,T,R,S,C)
      o.expected = channels_last(y, p.N, p.K, out_sp);
      break;
    }
    case ConvOperator::dgrad: {
      std::vector<double> dx(size_t(p.input_elements()));
      cpu::conv3d_dgrad_reference(p, dy.data(), w.data(), dx.data());
      o.a = channels_last(dy, p.N, p.K, out_sp);
      // (C,T,R,S,K): the transpose of KCTRS seen as [K][C·T·R·S].
      o.b = channels_last(w, 1, p.K, p.C * taps);
      o.expected = channels_last(dx, p.N, p.C, in_sp);
      break;
    }
    case ConvOperator::wgrad: {
      std::vector<double> dw(size_t(p.weight_elements()));
      cpu::conv3d_wgrad_reference(p, x.data(), dy.data(), dw.data());
      o.a = channels_last(dy, p.N, p.K, out_sp);
      o.b = channels_last(x, p.N, p.C, in_sp);
      o.expected = channels_last(dw, p.K, p.C, taps);
      break;
    }
  }
  return o;
}

Operands operands(const Conv3dProblem& p, ConvOperator op, uint32_t seed) {
  return operands_from(p, op, random_eighths(size_t(p.input_elements()), seed),
                       random_eighths(size_t(p.weight_elements()), seed + 1),
                       random_eighths(size_t(p.output_elements()), seed + 2));
}

// cvt.rna.tf32.f32 on the host: what the kernels' TF32 conversion must give.
double tf32_rna(double v) {
  uint32_t u;
  const float f = float(v);
  std::memcpy(&u, &f, 4);
  u = (u + 0x1000u) & 0xffffe000u;
  float r;
  std::memcpy(&r, &u, 4);
  return double(r);
}

// Uniform values in [-1, 1) that round: `a`, `b` hold them as stored in T; `expected` is the
// float64 result of the operands as the tensor cores see them; `magnitude` the same of |operands|.
template <class T>
Operands rounding_operands(const Conv3dProblem& p, ConvOperator op, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  auto draw = [&](int64_t n, std::vector<double>& stored, std::vector<double>& seen, std::vector<double>& size) {
    stored.resize(size_t(n)), seen.resize(size_t(n)), size.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) {
      stored[size_t(i)] = to_double(from_double<T>(u(rng)));
      seen[size_t(i)] = std::is_same_v<T, float> ? tf32_rna(stored[size_t(i)]) : stored[size_t(i)];
      size[size_t(i)] = std::fabs(seen[size_t(i)]);
    }
  };
  std::vector<double> xs, xr, xm, ws, wr, wm, ds, dr, dm;
  draw(p.input_elements(), xs, xr, xm);
  draw(p.weight_elements(), ws, wr, wm);
  draw(p.output_elements(), ds, dr, dm);
  Operands o = operands_from(p, op, xs, ws, ds);
  o.expected = operands_from(p, op, xr, wr, dr).expected;
  o.magnitude = operands_from(p, op, xm, wm, dm).expected;
  return o;
}

// |got − want| within what the kernel's f32 accumulation explains (one rounding per MMA k-step
// and per split-K partial, each at most 2⁻²⁴ of Σ|products|), plus half a unit in the last place
// of the output type's final rounding. A truncating conversion misses by about 2⁻¹¹ per product.
template <class T>
bool within_rounding(double got, double want, double magnitude, int64_t kred) {
  const double accumulation = double(kred / 8 + 8) * std::ldexp(magnitude, -24);
  double last = 0;
  if (std::is_same_v<T, BFloat16> && want != 0) {
    int e;
    std::frexp(std::max(std::fabs(got), std::fabs(want)), &e);
    last = std::ldexp(0.5, e - 8);  // half a bf16 ulp (8 significant bits)
  }
  return std::fabs(got - want) <= accumulation + last;
}
// [rows][from] → [rows][to]: the first min(from, to) columns kept, the rest zero.
std::vector<double> repack_rows(const std::vector<double>& v, int64_t rows, int64_t from, int64_t to) {
  std::vector<double> out(size_t(rows * to), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < std::min(from, to); ++c) out[size_t(r * to + c)] = v[size_t(r * from + c)];
  return out;
}

// The stem kernel's operands: fprop's weights and wgrad's result as (K, T, R, SC).
Operands stem_operands(const Conv3dProblem& p, ConvOperator op, uint32_t seed) {
  Operands o = operands(p, op, seed);
  const int64_t rows = p.K * p.T * p.R, sc = p.S * p.C, SC = (sc + 7) / 8 * 8;
  if (op == ConvOperator::fprop) o.b = repack_rows(o.b, rows, sc, SC);
  if (op == ConvOperator::wgrad) o.expected = repack_rows(o.expected, rows, sc, SC);
  return o;
}

const char* op_name(ConvOperator op) {
  return op == ConvOperator::fprop ? "fprop" : op == ConvOperator::dgrad ? "dgrad" : "wgrad";
}

// The GEMMs of operator Op on problem p: one, or one per stride phase (IgemmDgradPhase).
template <class Op, bool kStem>
std::vector<IgemmGeom> geometries(const Conv3dProblem& p) {
  if constexpr (std::is_same_v<Op, IgemmDgradPhase>) {
    std::vector<IgemmGeom> phases;
    for (int od = 0; od < p.stride_d; ++od)
      for (int oh = 0; oh < p.stride_h; ++oh)
        for (int ow = 0; ow < p.stride_w; ++ow) {
          IgemmGeom g = make_igemm_dgrad_phase_geom(p, od, oh, ow);
          if (g.M > 0) phases.push_back(g);
        }
    return phases;
  } else {
    return {kStem ? make_igemm_stem_geom(p, Op::op) : make_igemm_geom(p, Op::op)};
  }
}

template <class Op, class T, bool kStem = false, bool kRounding = false>
void check_operator(const Case& c, uint32_t seed) {
  const Conv3dProblem p = problem_of(c);
  const std::vector<IgemmGeom> geoms = geometries<Op, kStem>(p);
  const IgemmGeom& g0 = geoms.front();
  const Operands o = kRounding ? rounding_operands<T>(p, Op::op, seed)
                     : kStem   ? stem_operands(p, Op::op, seed)
                               : operands(p, Op::op, seed);
  std::vector<T> a = to_storage<T>(o.a), b = to_storage<T>(o.b);
  emu::DeviceBuffer da(a.data(), a.size() * sizeof(T)), db(b.data(), b.size() * sizeof(T));
  const bool vector_ok = kStem ? igemm::make_stem_plan(Op::op, g0).vector : conv3d_igemm_vector(Op::op, g0.C, g0.K);

  for (igemm::Tile tile : {igemm::Tile::t128x128, igemm::Tile::t128x64, igemm::Tile::t64x128}) {
    for (int want_splits : {1, 3}) {
      for (int loader : {0, 1, 2}) {  // element loads; 16-byte loads via registers; via cp.async
        const bool vector = loader > 0;
        if (vector && !vector_ok) continue;
        std::vector<T> out = poisoned<T>(o.expected.size());  // every element must be written
        int most_splits = 1;
        for (const IgemmGeom& g : geoms) {
          const int k_tiles = (g.Kred + igemm::kBK - 1) / igemm::kBK;
          igemm::Plan plan{tile, 1, std::max(1, k_tiles), vector, loader == 2};
          if (want_splits > 1 && k_tiles >= want_splits) {
            plan.k_tiles_per_split = (k_tiles + want_splits - 1) / want_splits;
            plan.splits = (k_tiles + plan.k_tiles_per_split - 1) / plan.k_tiles_per_split;
          }
          most_splits = std::max(most_splits, plan.splits);
          std::vector<float> partial(size_t(plan.splits) * g.M * g.Ngemm, std::nanf(""));
          emu::DeviceBuffer dp(partial.data(), partial.size() * sizeof(float));
          // The cp.async loader must really take the problem (the stem's gather maps never do).
          REQUIRE(cuda::igemm::takes_async<Op>(plan) == (loader == 2 && !kStem));
          cuda::igemm::run<Op, T>(plan, g, a.data(), b.data(), out.data(), partial.data(), nullptr);
        }
        INFO(c.name << (kStem ? " stem " : " ") << op_name(Op::op) << (geoms.size() > 1 ? " phases" : "")
                    << (std::is_same_v<T, BFloat16> ? " bf16" : " tf32") << " tile " << igemm::tile_m(tile) << "x"
                    << igemm::tile_n(tile) << " splits " << most_splits
                    << (loader == 2 ? " cp.async" : vector ? " vector" : " element"));
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < out.size(); ++i) {
          T want = from_double<T>(o.expected[i]);
          const bool ok = kRounding ? within_rounding<T>(to_double(out[i]), o.expected[i], o.magnitude[i], g0.Kred)
                                    : std::memcmp(&out[i], &want, sizeof(T)) == 0;
          if (!ok && bad++ == 0) first = i;
        }
        INFO("first mismatch at " << first << ": " << to_double(out[first]) << " vs " << o.expected[first]);
        CHECK(bad == 0);
      }
    }
  }
}

}  // namespace

// One test case per operator and type, so CTest runs them side by side.
#define EMU_CONV_TEST(OP, TYPE, NAME, SEED)                                                        \
  TEST_CASE("emulated igemm conv3d: " NAME " equals the float64 loops bit for bit", "[emu][conv3d]") { \
    uint32_t seed = SEED;                                                                          \
    for (const Case& c : kCases) check_operator<OP, TYPE>(c, seed += 10);                          \
  }
EMU_CONV_TEST(IgemmFprop, BFloat16, "bf16 fprop", 100)
EMU_CONV_TEST(IgemmDgrad, BFloat16, "bf16 dgrad", 200)
EMU_CONV_TEST(IgemmWgrad, BFloat16, "bf16 wgrad", 300)
EMU_CONV_TEST(IgemmFprop, float, "tf32 fprop", 400)
EMU_CONV_TEST(IgemmDgrad, float, "tf32 dgrad", 500)
EMU_CONV_TEST(IgemmWgrad, float, "tf32 wgrad", 600)

// Strided dgrad as one GEMM per stride phase: the strided cases, and one whose width stride (3)
// gives phases of 1 and 2 taps and whose depth (1) leaves a phase without positions.
TEST_CASE("emulated igemm conv3d: stride-phase dgrad equals the float64 loops bit for bit", "[emu][conv3d]") {
  const Case stride3 = {"stride3_depth1_c8_k16", 2, 8, 1, 6, 10, 16, 1, 3, 5, 2, 2, 3, 0, 1, 2, 1, 1, 1};
  uint32_t seed = 800;
  int strided = 0;
  for (const Case& c : kCases) {
    if (!igemm_dgrad_uses_phases(problem_of(c))) continue;
    ++strided;
    check_operator<IgemmDgradPhase, BFloat16>(c, seed += 10);
    check_operator<IgemmDgradPhase, float>(c, seed += 10);
  }
  check_operator<IgemmDgradPhase, BFloat16>(stride3, seed += 10);
  check_operator<IgemmDgradPhase, float>(stride3, seed += 10);
  CHECK(strided == 3);
}

// The stem kernel (fprop, wgrad) on every case, also the many-channel ones it is never chosen for:
// its gather maps must be right for any C, S and dilation.
TEST_CASE("emulated stem conv3d: bf16 and TF32 fprop and wgrad equal the float64 loops bit for bit",
          "[emu][conv3d][stem]") {
  uint32_t seed = 700;
  for (const Case& c : kCases) {
    check_operator<IgemmStemFprop, BFloat16, true>(c, seed += 10);
    check_operator<IgemmStemWgrad, BFloat16, true>(c, seed += 10);
    check_operator<IgemmStemFprop, float, true>(c, seed += 10);
    check_operator<IgemmStemWgrad, float, true>(c, seed += 10);
  }
}

// On a GPU whose shared memory cannot hold the cp.async kernel's stages (108 KiB for TF32 tiles),
// the opt-in is refused and the register-staged kernel must take the problem, with the same bits.
TEST_CASE("emulated igemm conv3d: the cp.async kernel's shared memory refused, the fallback runs", "[emu][conv3d]") {
  emu_set_max_dynamic_smem(64 * 1024);  // enough for the bf16 stages (60 KiB), not for TF32's
  try {
    check_operator<IgemmFprop, float>(kCases[0], 77);
    check_operator<IgemmDgrad, BFloat16>(kCases[0], 78);
  } catch (...) {
    emu_set_max_dynamic_smem(227 * 1024);
    throw;
  }
  emu_set_max_dynamic_smem(227 * 1024);
}

// Operands that round (the stem's own layout aside): every operator, both types, every tile, split
// and loader, on a plain and a strided case.
#define EMU_CONV_ROUNDING_TEST(OP, TYPE, NAME, SEED)                                                        \
  TEST_CASE("emulated igemm conv3d: " NAME " with operands that round is within f32 accumulation of float64", \
            "[emu][conv3d][rounding]") {                                                                     \
    uint32_t seed = SEED;                                                                                    \
    for (int i : {0, 1}) check_operator<OP, TYPE, false, true>(kCases[i], seed += 10);                 \
  }
EMU_CONV_ROUNDING_TEST(IgemmFprop, BFloat16, "bf16 fprop", 1100)
EMU_CONV_ROUNDING_TEST(IgemmDgrad, BFloat16, "bf16 dgrad", 1200)
EMU_CONV_ROUNDING_TEST(IgemmWgrad, BFloat16, "bf16 wgrad", 1300)
EMU_CONV_ROUNDING_TEST(IgemmFprop, float, "tf32 fprop", 1400)
EMU_CONV_ROUNDING_TEST(IgemmDgrad, float, "tf32 dgrad", 1500)
EMU_CONV_ROUNDING_TEST(IgemmWgrad, float, "tf32 wgrad", 1600)
