// CUDA conv3d (fprop, dgrad, wgrad) against the CPU's float64 direct loops, through the engine
// API, on fresh random inputs, with every new CUDA block poisoned (NaN) so an output element, a
// padded channel or a split-K partial the kernels forget to write shows up.
//
// Every launcher branch: each algorithm (analytic, implicit_gemm, stem, automatic) × dtype (f64,
// f32 exact, f32 TF32, bf16) × operator, on problems that pick each tile shape (128×128, 128×64,
// 64×128), split-K and no split, the vector and the element-wise loads (channel counts that are
// and are not multiples of 8), tile edges (M, N and the reduction not multiples of the tile),
// strides, padding, dilation, 1×1×1 stride-2 downsampling and the 3-channel stem.
//
// Tolerance per element: |got − want| ≤ r·|want| + a, with a = rms(A)·rms(B)·(8·√Kr·u_op +
// 8·Kr·u_acc), Kr the reduction length (C·T·R·S, K·T·R·S or N·Z·P·Q) and rms over the operands:
//  - u_op = 2^-11 for TF32 (the kernel rounds f32 operands to 10-bit mantissas; each product is
//    then off by ≤ 2·2^-11 relative, independently, so the sum's error grows like √Kr; 8 standard
//    deviations of the uniform rounding errors covers the largest of ~10^5 elements), else 0
//    (f64, f32 analytic and bf16 see operands identical to the reference's: bf16 inputs are made
//    on the CPU and the reference computes on the same rounded values);
//  - u_acc = 2^-24 for f32 accumulation, 2^-53 for f64. Recursive summation of Kr random terms
//    whose partial sums grow like √k·rms(A)·rms(B) has an error of standard deviation about
//    u·Kr/√2 (in those units); 8·Kr·u is over 10 of them, and more than the sequential analytic
//    kernels need (the tensor-core kernels add in short blocks and err less);
//  - r = 2^-8 for bf16 outputs (one rounding to 8 significant bits: ≤ 2^-9, doubled), 1e-6 for f32,
//    1e-12 for f64.
#include <algorithm>
#include <cmath>

#include "engine/ops/conv3d.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "tests/cuda/cuda_test_util.h"

#ifndef MTMAP_TEST_GPU_IS_CPU
#include "kernels/cuda/conv3d.h"
#endif

namespace mtmap::test {
namespace {

struct Case {
  const char* name;
  Shape x, w;  // (N,C,D,H,W), (K,C,T,R,S)
  std::array<int64_t, 3> stride, pad, dil;
};

// What each case reaches (tiles from igemm::make_plan; "vec" = channel counts multiple of 8).
std::vector<Case> cases() {
  return {
      // C=5, K=3: element-wise loads everywhere; the stem kernel on odd C; tiny M, N.
      {"odd_c5_k3", {1, 5, 4, 5, 3}, {3, 5, 2, 3, 2}, {1, 1, 1}, {1, 0, 1}, {1, 1, 1}},
      // vec; M = 2·4·5·6 = 240 (not a multiple of 128); 128×64 tiles.
      {"c8_k8_3x3x3", {2, 8, 4, 5, 6}, {8, 8, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
      // K = 24: dgrad / wgrad element-wise; stride 2 with odd extents.
      {"stride2_c16_k24", {1, 16, 5, 7, 6}, {24, 16, 3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}},
      // 1×1×1 stride-2 downsample (the residual shortcut).
      {"downsample_1x1x1_c16_k32", {2, 16, 5, 6, 5}, {32, 16, 1, 1, 1}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}},
      // The r3d stem: 3→64, 3×7×7, stride (1,2,2), pad (1,3,3).
      {"stem_3to64_3x7x7", {2, 3, 5, 20, 18}, {64, 3, 3, 7, 7}, {1, 2, 2}, {1, 3, 3}, {1, 1, 1}},
      {"dilated_asym_c8_k8", {1, 8, 5, 6, 7}, {8, 8, 2, 3, 2}, {1, 2, 1}, {0, 2, 1}, {2, 1, 3}},
      // K = 72 > 64: 128×128 tiles with a ragged N edge; M = 3·3·7·9 = 567.
      {"tile_edges_c16_k72", {3, 16, 3, 7, 9}, {72, 16, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
      // wgrad M = 40 ≤ 64 with N = 432: the 64×128 tile; wgrad reduction 4·8·16·16 = 8192:
      // split-K (32 splits) and the fixed-order reduction.
      {"split_k_wgrad_c16_k40", {4, 16, 8, 16, 16}, {40, 16, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
      // layer4-like: M = 196, N = 64, reduction 1728: fprop and dgrad split-K.
      {"split_k_fprop_c64_k64", {2, 64, 2, 7, 7}, {64, 64, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
      // layer3.0-like strided 128→256 at 4×14×14 → 2×7×7.
      {"layer3_down_c128_k256", {1, 128, 4, 14, 14}, {256, 128, 3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}},
  };
}

Conv3dOptions options(const Case& c, CudaConvAlgo algo, bool tf32) {
  Conv3dOptions o;
  o.stride = c.stride, o.padding = c.pad, o.dilation = c.dil;
  o.cpu_algo = CpuConvAlgo::reference;
  o.cuda.algo = algo;
  o.cuda.allow_tf32 = tf32;
  return o;
}

double rms(const Tensor& t) {
  std::vector<double> v = t.to(Device::cpu()).to_vector<double>();
  double s = 0;
  for (double x : v) s += x * x;
  return v.empty() ? 0.0 : std::sqrt(s / double(v.size()));
}

Tol conv_tol(DType t, bool tf32, int64_t reduce, double scale) {
  double u_op = tf32 ? std::ldexp(1.0, -11) : 0.0;
  double u_acc = t == DType::f64 ? std::ldexp(1.0, -53) : std::ldexp(1.0, -24);
  double r = t == DType::bf16 ? std::ldexp(1.0, -8) : t == DType::f32 ? 1e-6 : 1e-12;
  double a = scale * (8 * std::sqrt(double(reduce)) * u_op + 8 * double(reduce) * u_acc);
  return {r, a};
}

struct Variant {
  DType dtype;
  CudaConvAlgo algo;
  bool tf32;
  bool stride_phases = true;  // strided dgrad as stride phases (false: one GEMM over all taps)
};

// The variants a build tests: exact f64 / f32 always; TF32 and bf16 on a real GPU only (the
// self-check mode's "GPU" is the CPU, which ignores the CUDA configuration and has no bf16).
std::vector<Variant> variants() {
  using A = CudaConvAlgo;
  std::vector<Variant> v = {{DType::f64, A::automatic, false},
                            {DType::f64, A::analytic, false},
                            {DType::f32, A::automatic, false},
                            {DType::f32, A::analytic, false}};
#ifndef MTMAP_TEST_GPU_IS_CPU
  for (A a : {A::automatic, A::implicit_gemm, A::stem}) v.push_back({DType::f32, a, true});
  for (A a : {A::automatic, A::analytic, A::implicit_gemm, A::stem}) v.push_back({DType::bf16, a, false});
  v.push_back({DType::bf16, A::implicit_gemm, false, false});
#endif
  return v;
}

const char* algo_name(CudaConvAlgo a) {
  switch (a) {
    case CudaConvAlgo::automatic:
      return "auto";
    case CudaConvAlgo::analytic:
      return "analytic";
    case CudaConvAlgo::implicit_gemm:
      return "implicit_gemm";
    case CudaConvAlgo::stem:
      return "stem";
  }
  return "?";
}

// One problem, every variant, all three operators, against the float64 direct loops.
void check_all_variants(const Case& c, uint64_t seed) {
  Generator gen(seed);
  Conv3dOptions ref = options(c, CudaConvAlgo::automatic, false);
  Conv3dProblem p = conv3d_problem(c.x, c.w, ref);
  Tensor x64 = random_input(c.x, gen, DType::f64), w64 = random_input(c.w, gen, DType::f64);
  Tensor dy64 = random_input({p.N, p.K, p.Z, p.P, p.Q}, gen, DType::f64);
  const int64_t red_f = p.C * p.filter_volume(), red_d = p.K * p.filter_volume(), red_w = p.output_positions();
  for (DType t : {DType::f64, DType::f32, DType::bf16}) {
    bool any = false;
    for (const Variant& v : variants()) any |= v.dtype == t;
    if (!any) continue;
    // The reference runs once per dtype, on exactly the values the GPU sees (rounded to t).
    Tensor x = x64.to(t), w = w64.to(t), dy = dy64.to(t);
    Tensor xr = x.to(DType::f64), wr = w.to(DType::f64), dyr = dy.to(DType::f64);
    Tensor y_want = conv3d(xr, wr, ref), dx_want = conv3d_dgrad(dyr, wr, p, ref);
    Tensor dw_want = conv3d_wgrad(xr, dyr, p, ref);
    for (const Variant& v : variants()) {
      if (v.dtype != t) continue;
      PoisonScope poison;
      Conv3dOptions o = options(c, v.algo, v.tf32);
      o.cuda.dgrad_stride_phases = v.stride_phases;
      std::string what = fmt::format("{} {} {}{}{}", c.name, dtype_name(t), algo_name(v.algo), v.tf32 ? " tf32" : "",
                                     v.stride_phases ? "" : " dgrad over all taps");
      Tol tf = conv_tol(t, v.tf32, red_f, rms(xr) * rms(wr));
      Tol td = conv_tol(t, v.tf32, red_d, rms(dyr) * rms(wr));
      Tol tw = conv_tol(t, v.tf32, red_w, rms(xr) * rms(dyr));
      check_close(y_want, conv3d(x.to(gpu()), w.to(gpu()), o), tf.rtol, tf.atol, what + " fprop");
      check_close(dx_want, conv3d_dgrad(dy.to(gpu()), w.to(gpu()), p, o), td.rtol, td.atol, what + " dgrad");
      check_close(dw_want, conv3d_wgrad(x.to(gpu()), dy.to(gpu()), p, o), tw.rtol, tw.atol, what + " wgrad");
    }
  }
}

}  // namespace

TEST_CASE("cuda conv3d fprop, dgrad and wgrad match the float64 direct loops", "[cuda][conv3d]") {
  uint64_t seed = 4000;
  for (const Case& c : cases()) check_all_variants(c, ++seed);
}

// Small problems that still reach every branch (element-wise and vector loads, the stem's
// padding, split-K with two splits, ragged tile edges), cheap enough for compute-sanitizer
// (tools/device-check.sh --memcheck runs this tag).
TEST_CASE("cuda conv3d small problems for memcheck", "[cuda][conv3d_memcheck]") {
  std::vector<Case> small = {
      {"odd_c5_k3", {1, 5, 4, 5, 3}, {3, 5, 2, 3, 2}, {1, 1, 1}, {1, 0, 1}, {1, 1, 1}},
      {"split2_wgrad_c8_k8", {1, 8, 8, 8, 8}, {8, 8, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
      {"stem_tiny", {1, 3, 2, 9, 7}, {16, 3, 3, 7, 7}, {1, 2, 2}, {1, 3, 3}, {1, 1, 1}},
      {"stride2_c16_k24", {1, 16, 5, 7, 6}, {24, 16, 3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}},
  };
  uint64_t seed = 4400;
  for (const Case& c : small) check_all_variants(c, ++seed);
}

TEST_CASE("cuda conv3d r3d-18 layer shapes in bf16 and TF32 (reduced spatial size)", "[cuda][conv3d]") {
  // The model's channel counts and kernels at 4×16×16 (stem input 4×32×32), batch 2: the vector
  // path with 64-512 channels, 128×128 tiles and split-K on the deep layers.
  struct L {
    const char* name;
    Shape x, w;
    std::array<int64_t, 3> stride, pad;
  };
  std::vector<L> layers = {
      {"stem", {2, 3, 4, 32, 32}, {64, 3, 3, 7, 7}, {1, 2, 2}, {1, 3, 3}},
      {"layer1", {2, 64, 4, 16, 16}, {64, 64, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
      {"layer2.0.conv1", {2, 64, 4, 16, 16}, {128, 64, 3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
      {"layer2.0.downsample", {2, 64, 4, 16, 16}, {128, 64, 1, 1, 1}, {2, 2, 2}, {0, 0, 0}},
      {"layer3", {2, 256, 2, 4, 4}, {256, 256, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
      {"layer4.0.conv1", {2, 256, 2, 4, 4}, {512, 256, 3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
  };
  uint64_t seed = 4500;
  for (const L& l : layers) {
    for (DType t : float_types()) {
      if (t == DType::f64) continue;
      PoisonScope poison;
      Generator gen(++seed);
      Case c{l.name, l.x, l.w, l.stride, l.pad, {1, 1, 1}};
      bool tf32 = t == DType::f32;
#ifdef MTMAP_TEST_GPU_IS_CPU
      tf32 = false;
#endif
      Conv3dOptions o = options(c, CudaConvAlgo::automatic, tf32), ref = options(c, CudaConvAlgo::automatic, false);
      Conv3dProblem p = conv3d_problem(l.x, l.w, o);
      Tensor x = random_input(l.x, gen, t), w = random_input(l.w, gen, t);
      Tensor dy = random_input({p.N, p.K, p.Z, p.P, p.Q}, gen, t);
      Tensor xr = x.to(DType::f64), wr = w.to(DType::f64), dyr = dy.to(DType::f64);
      std::string what = fmt::format("{} {}", l.name, dtype_name(t));
      Tol tf = conv_tol(t, tf32, p.C * p.filter_volume(), rms(xr) * rms(wr));
      Tol td = conv_tol(t, tf32, p.K * p.filter_volume(), rms(dyr) * rms(wr));
      Tol tw = conv_tol(t, tf32, p.output_positions(), rms(xr) * rms(dyr));
      check_close(conv3d(xr, wr, ref), conv3d(x.to(gpu()), w.to(gpu()), o), tf.rtol, tf.atol, what + " fprop");
      check_close(conv3d_dgrad(dyr, wr, p, ref), conv3d_dgrad(dy.to(gpu()), w.to(gpu()), p, o), td.rtol, td.atol,
                  what + " dgrad");
      check_close(conv3d_wgrad(xr, dyr, p, ref), conv3d_wgrad(x.to(gpu()), dy.to(gpu()), p, o), tw.rtol, tw.atol,
                  what + " wgrad");
    }
  }
}

TEST_CASE("cuda conv3d is deterministic: split-K wgrad and dgrad twice give the same bits", "[cuda][conv3d]") {
  Case c = cases()[7];  // split_k_wgrad_c16_k40
  for (DType t : float_types()) {
    Generator gen(4700);
    Conv3dOptions o = options(c, CudaConvAlgo::automatic, t == DType::f32);
    Conv3dProblem p = conv3d_problem(c.x, c.w, o);
    Tensor x = random_input(c.x, gen, t).to(gpu()), w = random_input(c.w, gen, t).to(gpu());
    Tensor dy = random_input({p.N, p.K, p.Z, p.P, p.Q}, gen, t).to(gpu());
    check_equal(conv3d_wgrad(x, dy, p, o), conv3d_wgrad(x, dy, p, o), fmt::format("wgrad {} rerun", dtype_name(t)));
    check_equal(conv3d_dgrad(dy, w, p, o), conv3d_dgrad(dy, w, p, o), fmt::format("dgrad {} rerun", dtype_name(t)));
    check_equal(conv3d(x, w, o), conv3d(x, w, o), fmt::format("fprop {} rerun", dtype_name(t)));
  }
}

TEST_CASE("cuda conv3d with an empty batch: empty outputs, zero weight gradient", "[cuda][conv3d]") {
  for (DType t : float_types())
    for (CudaConvAlgo a : {CudaConvAlgo::automatic, CudaConvAlgo::analytic}) {
      PoisonScope poison;
      Generator gen(4850);
      Case c{"empty", {0, 8, 3, 4, 4}, {8, 8, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}};
      Conv3dOptions o = options(c, a, false);
      Conv3dProblem p = conv3d_problem(c.x, c.w, o);
      Tensor x = zeros(c.x, t, gpu()), w = random_input(c.w, gen, t).to(gpu());
      Tensor dy = zeros({0, 8, 3, 4, 4}, t, gpu());
      CHECK(conv3d(x, w, o).shape() == Shape({0, 8, 3, 4, 4}));
      CHECK(conv3d_dgrad(dy, w, p, o).shape() == c.x);
      check_equal(zeros(c.w, t), conv3d_wgrad(x, dy, p, o), fmt::format("wgrad of an empty batch, {}", dtype_name(t)));
    }
}

#ifndef MTMAP_TEST_GPU_IS_CPU
TEST_CASE("cuda conv3d refuses what it cannot run, naming why", "[cuda][conv3d][errors]") {
  Case c = cases()[1];
  Generator gen(4900);
  Conv3dOptions o = options(c, CudaConvAlgo::implicit_gemm, false);
  Tensor x64 = random_input(c.x, gen, DType::f64).to(gpu()), w64 = random_input(c.w, gen, DType::f64).to(gpu());
  CHECK_THROWS_WITH(conv3d(x64, w64, o), Catch::Contains("conv3d") && Catch::Contains("no f64 form"));
  CHECK_THROWS_WITH(conv3d(x64.to(DType::f32), w64.to(DType::f32), o), Catch::Contains("allow_tf32"));
  o.cuda.algo = CudaConvAlgo::stem;
  CHECK_THROWS_WITH(conv3d(x64.to(DType::f32), w64.to(DType::f32), o), Catch::Contains("allow_tf32"));
  CHECK_THROWS_WITH(conv3d(x64.to(DType::f32), w64.to(DType::f32).to(Device::cpu()), o),
                    Catch::Contains("different devices"));
}

TEST_CASE("cuda conv3d channels-last launchers match the engine-layout ones", "[cuda][conv3d][launcher]") {
  // The conv3d_cl_* entry points the benchmark times, called directly: NDHWC / KTRSC operands
  // made by permuting the engine's tensors; results permuted back and compared with the NCDHW
  // launchers (same kernels behind both, so the same tolerance as the float64 comparison above).
  using A = CudaConvAlgo;
  cudaStream_t stream = gpu_state().stream();
  for (int ci : {1, 2, 4}) {  // c8_k8 (vector loads), stride2_c16_k24 (K % 8 ≠ 0), the stem
    const Case c = cases()[size_t(ci)];  // a copy: cases() returns a temporary
    for (A a : {A::automatic, A::implicit_gemm, A::stem}) {
      PoisonScope poison;
      Generator gen(5000 + uint64_t(ci));
      Conv3dOptions o = options(c, a, false);
      Conv3dProblem p = conv3d_problem(c.x, c.w, o);
      Tensor x = random_input(c.x, gen, DType::bf16).to(gpu()), w = random_input(c.w, gen, DType::bf16).to(gpu());
      Tensor dy = random_input({p.N, p.K, p.Z, p.P, p.Q}, gen, DType::bf16).to(gpu());
      auto last = [](const Tensor& t) { return t.permute({0, 2, 3, 4, 1}).contiguous(); };  // (N,C,...) → (N,...,C)
      auto first = [](const Tensor& t) { return t.permute({0, 4, 1, 2, 3}).contiguous(); };
      Tensor xl = last(x), wl = last(w), dyl = last(dy);
      std::string what = fmt::format("{} {}", c.name, algo_name(a));
      auto run = [&](ConvOperator op, const Tensor& in0, const Tensor& in1, const Shape& out_shape) {
        Tensor out = empty(out_shape, DType::bf16, gpu());
        size_t bytes = cuda::conv3d_cl_workspace_bytes(op, DType::bf16, p, o.cuda);
        Tensor ws = empty({int64_t(std::max<size_t>(bytes, 1))}, DType::u8, gpu());
        switch (op) {
          case ConvOperator::fprop:
            cuda::conv3d_cl_fprop(DType::bf16, p, o.cuda, in0.raw(), in1.raw(), out.raw(), ws.raw(), bytes, stream);
            break;
          case ConvOperator::dgrad:
            cuda::conv3d_cl_dgrad(DType::bf16, p, o.cuda, in0.raw(), in1.raw(), out.raw(), ws.raw(), bytes, stream);
            break;
          case ConvOperator::wgrad:
            cuda::conv3d_cl_wgrad(DType::bf16, p, o.cuda, in0.raw(), in1.raw(), out.raw(), ws.raw(), bytes, stream);
            break;
        }
        return first(out);
      };
      Tol tf = conv_tol(DType::bf16, false, p.C * p.filter_volume(), rms(x) * rms(w));
      Tol td = conv_tol(DType::bf16, false, p.K * p.filter_volume(), rms(dy) * rms(w));
      Tol tw = conv_tol(DType::bf16, false, p.output_positions(), rms(x) * rms(dy));
      // Two bf16 results of different summation orders: twice the one-sided tolerance.
      check_close(conv3d(x, w, o), run(ConvOperator::fprop, xl, wl, {p.N, p.Z, p.P, p.Q, p.K}), 2 * tf.rtol,
                  2 * tf.atol, what + " fprop");
      check_close(conv3d_dgrad(dy, w, p, o), run(ConvOperator::dgrad, dyl, wl, {p.N, p.D, p.H, p.W, p.C}), 2 * td.rtol,
                  2 * td.atol, what + " dgrad");
      check_close(conv3d_wgrad(x, dy, p, o), run(ConvOperator::wgrad, xl, dyl, {p.K, p.T, p.R, p.S, p.C}), 2 * tw.rtol,
                  2 * tw.atol, what + " wgrad");
    }
  }
  // Analytic has no channels-last form: a clear refusal.
  Conv3dOptions o = options(cases()[1], A::analytic, false);
  Conv3dProblem p = conv3d_problem(cases()[1].x, cases()[1].w, o);
  CHECK_THROWS_WITH(cuda::conv3d_cl_fprop(DType::bf16, p, o.cuda, nullptr, nullptr, nullptr, nullptr, 0, stream),
                    Catch::Contains("tensor-core algorithms only"));
}
#endif

}  // namespace mtmap::test
