// CUDA parity of the elementwise ops, conversions and copies, factories and random numbers
// across input layouts and launcher sizes: each op runs through the public engine API on the CPU
// (the reference) and on cuda:0, on fresh random inputs, with every new CUDA block poisoned so
// unwritten outputs show as NaN. Each differentiable op's forward and backward at small shapes
// (views, cat and stack among them) are checked by the generated test_cuda_op_table.cpp.
//
// Layouts (each hits one launcher branch): contiguous → the `Contiguous` fast path; transposed,
// narrowed and broadcast views → the strided path. Sizes: 1 element, odd sizes (no multiple of a
// block, warp or vector width) and > 1M elements (more blocks than one wave, grid-stride loop).
//
// Tolerances, per output element |got - want| <= atol + rtol |want|:
//  - f64: rtol 1e-12. CUDA's double exp/log/pow are within 1-2 ulp (2.2e-16) of glibc's.
//  - f32: rtol 1e-5, atol 1e-6. CUDA's float exp/log/pow/sqrt are within 2-4 ulp (1.2e-7 each),
//    and nvcc may contract a*x + b into an FMA, an absolute difference of ~eps |a x| near 0.
//  - bf16: against the CPU f32 op on the same bf16-rounded inputs, rtol 1e-2, atol 1e-2: the GPU
//    computes in float and rounds the result once to bf16 (8 significant bits, relative error
//    <= 2^-9 = 0.2%); atol covers results near 0 from inputs of size ~1 (one bf16 ulp of 1 is
//    0.0078).
//  - comparisons, where, copies, conversions, views, fill, uniform and randperm: bit-exact (no
//    arithmetic, or the same conversion rule on both sides).
#include <functional>

#include "engine/ops/copy.h"
#include "tests/cuda/cuda_test_util.h"

namespace mtmap::test {
namespace {

Tol elementwise_tol(DType t) {
  switch (t) {
    case DType::f64: return {1e-12, 1e-12};
    case DType::f32: return {1e-5, 1e-6};
    default: return {1e-2, 1e-2};
  }
}

// One input layout: a name, the shape of the base tensor and the view applied to it on both
// devices (so the GPU sees a genuinely strided input).
struct Layout {
  const char* name;
  Shape base;
  std::function<Tensor(const Tensor&)> view;
};

std::vector<Layout> layouts() {
  auto same = [](const Tensor& t) { return t; };
  return {
      {"one element", {1}, same},
      {"odd 37x53", {37, 53}, same},
      {"large 1M+", {1048583}, same},  // prime, > 2^20
      {"transposed 53x37", {37, 53}, [](const Tensor& t) { return t.transpose(0, 1); }},
      {"permuted 3-D",
       {13, 7, 5},
       [](const Tensor& t) {
         return t.permute({2, 0, 1});
       }},
      {"narrowed", {9, 40}, [](const Tensor& t) { return t.narrow(1, 3, 31); }},
      {"large transposed", {1031, 1021}, [](const Tensor& t) { return t.transpose(0, 1); }},
  };
}

void check_unary(const char* name, bool positive, const std::function<Tensor(const Tensor&)>& op) {
  Generator gen(11);
  PoisonScope poison;
  for (DType t : float_types())
    for (const Layout& l : layouts()) {
      Tensor x = random_input(l.base, gen, t, positive);
      Tensor want = op(l.view(reference_input(x)));
      Tensor got = op(l.view(x.to(gpu())));
      CHECK(got.dtype() == t);
      Tol tol = elementwise_tol(t);
      check_close(want, got, tol.rtol, tol.atol, std::string(name) + " " + dtype_name(t) + " " + l.name);
    }
}

TEST_CASE("cuda unary ops match the CPU", "[cuda][elementwise]") {
  check_unary("neg", false, [](const Tensor& x) { return neg(x); });
  check_unary("add scalar", false, [](const Tensor& x) { return add(x, 0.75); });
  check_unary("mul scalar", false, [](const Tensor& x) { return mul(x, -1.5); });
  check_unary("sub scalar", false, [](const Tensor& x) { return sub(x, 0.25); });
  check_unary("div scalar", false, [](const Tensor& x) { return div(x, 3.0); });
  check_unary("rsub", false, [](const Tensor& x) { return rsub(2.0, x); });
  check_unary("rdiv", true, [](const Tensor& x) { return rdiv(3.0, x); });
  check_unary("exp", false, [](const Tensor& x) { return exp(x); });
  check_unary("log", true, [](const Tensor& x) { return log(x); });
  check_unary("sqrt", true, [](const Tensor& x) { return sqrt(x); });
  check_unary("relu", false, [](const Tensor& x) { return relu(x); });
  check_unary("abs", false, [](const Tensor& x) { return abs(x); });
  check_unary("sign", false, [](const Tensor& x) { return sign(x); });
  check_unary("pow scalar", true, [](const Tensor& x) { return pow(x, 1.7); });
  check_unary("clamp", false, [](const Tensor& x) { return clamp(x, -0.5, 0.8); });
}

// Pairs of operand layouts for binary ops: both contiguous (fast path), one transposed, and
// broadcasting (0 strides) in each direction.
struct BinaryCase {
  const char* name;
  Shape a, b;
  std::function<Tensor(const Tensor&)> view_a, view_b;
};

std::vector<BinaryCase> binary_cases() {
  auto same = [](const Tensor& t) { return t; };
  auto tr = [](const Tensor& t) { return t.transpose(0, 1); };
  return {
      {"one element", {1}, {1}, same, same},
      {"odd contiguous", {37, 53}, {37, 53}, same, same},
      {"large contiguous", {1048583}, {1048583}, same, same},
      {"a transposed", {53, 37}, {37, 53}, tr, same},
      {"row broadcast", {37, 53}, {53}, same, same},
      {"column broadcast", {37, 1}, {37, 53}, same, same},
      {"both broadcast", {37, 1, 5}, {1, 11, 5}, same, same},
      {"large broadcast", {1025, 1031}, {1031}, same, same},
      {"scalar tensor", {37, 53}, {}, same, same},
  };
}

void check_binary(const char* name, bool positive, bool ties,
                  const std::function<Tensor(const Tensor&, const Tensor&)>& op) {
  Generator gen(12);
  PoisonScope poison;
  for (DType t : float_types())
    for (const BinaryCase& c : binary_cases()) {
      Tensor a = ties ? small_ints(c.a, gen, t) : random_input(c.a, gen, t, positive);
      Tensor b = ties ? small_ints(c.b, gen, t) : random_input(c.b, gen, t, positive);
      Tensor want = op(c.view_a(reference_input(a)), c.view_b(reference_input(b)));
      Tensor got = op(c.view_a(a.to(gpu())), c.view_b(b.to(gpu())));
      std::string what = std::string(name) + " " + dtype_name(t) + " " + c.name;
      if (want.dtype() == DType::u8) {
        check_equal(want, got, what);
      } else {
        Tol tol = elementwise_tol(t);
        check_close(want, got, tol.rtol, tol.atol, what);
      }
    }
}

TEST_CASE("cuda binary ops match the CPU", "[cuda][elementwise]") {
  check_binary("add", false, false, [](const Tensor& a, const Tensor& b) { return add(a, b); });
  check_binary("sub", false, false, [](const Tensor& a, const Tensor& b) { return sub(a, b); });
  check_binary("mul", false, false, [](const Tensor& a, const Tensor& b) { return mul(a, b); });
  check_binary("div", true, false, [](const Tensor& a, const Tensor& b) { return div(a, b); });
  check_binary("pow", true, false, [](const Tensor& a, const Tensor& b) { return pow(a, b); });
  check_binary("maximum", false, false, [](const Tensor& a, const Tensor& b) { return maximum(a, b); });
  check_binary("add_relu", false, false, [](const Tensor& a, const Tensor& b) { return add_relu(a, b); });
  check_binary("minimum", false, false, [](const Tensor& a, const Tensor& b) { return minimum(a, b); });
}

TEST_CASE("cuda comparisons match the CPU bit for bit", "[cuda][elementwise]") {
  // Small integers: many exact ties, so eq/le/ge are exercised on equal values too.
  check_binary("eq", false, true, [](const Tensor& a, const Tensor& b) { return eq(a, b); });
  check_binary("ne", false, true, [](const Tensor& a, const Tensor& b) { return ne(a, b); });
  check_binary("lt", false, true, [](const Tensor& a, const Tensor& b) { return lt(a, b); });
  check_binary("le", false, true, [](const Tensor& a, const Tensor& b) { return le(a, b); });
  check_binary("gt", false, true, [](const Tensor& a, const Tensor& b) { return gt(a, b); });
  check_binary("ge", false, true, [](const Tensor& a, const Tensor& b) { return ge(a, b); });
  check_binary("gt scalar", false, true, [](const Tensor& a, const Tensor&) { return gt(a, 2.0); });
  check_binary("lt scalar", false, true, [](const Tensor& a, const Tensor&) { return lt(a, 2.0); });
}

TEST_CASE("cuda where matches the CPU bit for bit", "[cuda][elementwise]") {
  Generator gen(13);
  PoisonScope poison;
  for (DType t : float_types())
    for (const BinaryCase& c : binary_cases()) {
      Tensor a = random_input(c.a, gen, t), b = random_input(c.b, gen, t);
      Tensor cond = gt(random_input(c.b, gen, DType::f32), 0.0);  // broadcast against a and b
      Tensor got = where(cond.to(gpu()), c.view_a(a.to(gpu())), c.view_b(b.to(gpu())));
      // bf16 where is not on the CPU: select in f32 and round back (exact for a selection).
      Tensor ref = t == DType::bf16 ? where(cond, c.view_a(a.to(DType::f32)), c.view_b(b.to(DType::f32))).to(t)
                                    : where(cond, c.view_a(a), c.view_b(b));
      check_equal(ref, got, std::string("where ") + dtype_name(t) + " " + c.name);
    }
}

const DType kAllTypes[] = {DType::f32, DType::f64, DType::bf16, DType::i32, DType::i64, DType::u8};

// Values every dtype holds without overflow: 0 <= v < 200 with fractions (truncated by the
// integer conversions, rounded by bf16: the same rule on both backends).
Tensor convertible_values(const Shape& shape, Generator& gen, DType t) {
  return mul(rand(shape, gen, DType::f64), 199.0).to(t);
}

TEST_CASE("cuda to(dtype) converts every dtype pair like the CPU", "[cuda][copy]") {
  Generator gen(21);
  PoisonScope poison;
  for (DType from : kAllTypes)
    for (DType to : kAllTypes)
      for (const Layout& l : layouts()) {
        Tensor x = convertible_values(l.base, gen, from);
        Tensor want = l.view(x).to(to);  // contiguous() + convert on the CPU
        Tensor got = l.view(x.to(gpu())).to(to);
        check_equal(want, got, std::string("to ") + dtype_name(from) + " -> " + dtype_name(to) + " " + l.name);
      }
}

TEST_CASE("cuda contiguous() and copy_into match the CPU for every dtype", "[cuda][copy]") {
  Generator gen(22);
  PoisonScope poison;
  for (DType t : kAllTypes)
    for (const Layout& l : layouts()) {
      Tensor x = convertible_values(l.base, gen, t);
      // Same dtype, strided source: the converting kernel's strided branch with S == D (or the
      // cudaMemcpyAsync branch for contiguous layouts).
      check_equal(l.view(x).contiguous(), l.view(x.to(gpu())).contiguous(),
                  std::string("contiguous ") + dtype_name(t) + " " + l.name);
    }
  // Strided destination and a broadcast source (copy_into), every dtype pair on one layout.
  for (DType from : kAllTypes)
    for (DType to : kAllTypes) {
      Tensor src = convertible_values({1, 31}, gen, from);
      Tensor dst_cpu = zeros({40, 9}, to), dst_gpu = zeros({40, 9}, to, gpu());
      copy_into(dst_cpu.transpose(0, 1).narrow(1, 5, 31), src);
      copy_into(dst_gpu.transpose(0, 1).narrow(1, 5, 31), src.to(gpu()));
      check_equal(dst_cpu, dst_gpu, std::string("copy_into ") + dtype_name(from) + " -> " + dtype_name(to));
    }
}

TEST_CASE("cuda factories match the CPU for every dtype", "[cuda][copy]") {
  PoisonScope poison;
  for (DType t : kAllTypes) {
    std::string n = dtype_name(t);
    check_equal(zeros({7, 5}, t), zeros({7, 5}, t, gpu()), "zeros " + n);
    check_equal(ones({1}, t), ones({1}, t, gpu()), "ones " + n);
    check_equal(full({1048583}, 3.7, t), full({1048583}, 3.7, t, gpu()), "full large " + n);
    check_equal(full({3, 3}, 250.0, t), full({3, 3}, 250.0, t, gpu()), "full 250 " + n);
    check_equal(scalar_tensor(2.0, t), scalar_tensor(2.0, t, gpu()), "scalar_tensor " + n);
    check_equal(arange(1001, t), arange(1001, t, gpu()), "arange " + n);
    CHECK(zeros({0, 3}, t, gpu()).numel() == 0);
  }
  check_equal(full({5}, -2.5, DType::bf16), full({5}, -2.5, DType::bf16, gpu()), "full negative bf16");
}

TEST_CASE("cuda Philox streams match the CPU", "[cuda][random]") {
  PoisonScope poison;
  for (int64_t n : {int64_t(1), int64_t(3), int64_t(1001), int64_t(1048583)}) {
    INFO("n = " << n);
    Generator cpu_gen(99, 5), gpu_gen(99, 5);
    // uniform: the same integer arithmetic and one exact scaling on both sides → bit-identical.
    check_equal(rand({n}, cpu_gen, DType::f32), rand({n}, gpu_gen, DType::f32, gpu()), "rand f32");
    check_equal(rand({n}, cpu_gen, DType::f64), rand({n}, gpu_gen, DType::f64, gpu()), "rand f64");
    // normal: Box-Muller in double on both sides; glibc's and CUDA's log/cos/sqrt differ by an ulp
    // or two (~1e-16), so within 1e-6 relative (atol for values near a zero of the cosine). The
    // f32 results are nearly always identical after rounding.
    check_close(randn({n}, cpu_gen, DType::f32), randn({n}, gpu_gen, DType::f32, gpu()), 1e-6, 1e-12, "randn f32");
    check_close(randn({n}, cpu_gen, DType::f64), randn({n}, gpu_gen, DType::f64, gpu()), 1e-6, 1e-12, "randn f64");
    // randperm: stable radix sort of the same 64-bit keys → the identical permutation.
    check_equal(randperm(n, cpu_gen), randperm(n, gpu_gen, gpu()), "randperm");
    CHECK(cpu_gen.offset() == gpu_gen.offset());
  }
}

}  // namespace
}  // namespace mtmap::test
