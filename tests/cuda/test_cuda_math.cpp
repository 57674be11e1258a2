// CUDA parity of the reductions, the softmax family, matmul and the index ops, and of a backward
// pass through a composite of them. Shapes are picked to hit every launcher branch:
//  - reduce / row_op: cols <= 1024 → warp per row (cols 1, 7, 31: fewer than a warp; 1000);
//    cols > 1024 → block per row (1025: just over; 20000: > 8192, many elements per thread);
//    many rows (70000) → grid-stride over rows; reductions over leading / several axes.
//  - gemm: plain, transposed operands (the trans flags), batched, broadcast batch (stride 0),
//    k = 0 (the memset branch), odd and > 1M-element outputs.
//  - index ops: one thread per output; repeated indices (bad ones: test_cuda_index_errors.cpp).
//
// Tolerances (|got - want| <= atol + rtol |want|), with inputs ~ N(0, 1):
//  - sums over `cols` values: the GPU accumulates f32 in float in a tree, the CPU in double, so
//    the f32 error grows like eps_f32 · Σ|x| ≲ 1.2e-7 · cols: atol 2e-6 · cols, rtol 1e-5.
//    A missing or doubled element (|x| ~ 0.8 on average) is still far outside that.
//    f64: atol 1e-12 · cols. bf16 (vs the CPU f32 op on the rounded inputs): output rounding
//    2^-9 relative, rtol 1e-2, atol 2e-6 · cols + 1e-2.
//  - max/min: exact (no arithmetic): rtol 0, atol 0 for f32/f64.
//  - softmax family: exp/log in float on the GPU: rtol 1e-5, atol 1e-6 (f32); 1e-12 (f64).
//  - gemm: different summation orders in cuBLAS and OpenBLAS: atol 2e-6 · k, rtol 1e-5 (f32);
//    1e-12 · k (f64); bf16 inputs with fp32 accumulation and one output rounding: rtol 1e-2,
//    atol 1e-3 · k.
//  - index_select / gather: bit-exact (copies). index_add / scatter_add: bit-exact for f32 and
//    f64 too, since each output adds its contributions in the CPU's order, in the same precision.
#include "engine/autograd/grad_mode.h"
#include "engine/ops/index.h"
#include "engine/ops/linalg.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "tests/cuda/cuda_test_util.h"

namespace mtmap::test {
namespace {

Tol sum_tol(DType t, int64_t cols) {
  double c = double(std::max<int64_t>(cols, 1));
  switch (t) {
    case DType::f64: return {1e-12, 1e-12 * c};
    case DType::f32: return {1e-5, 2e-6 * c};
    default: return {1e-2, 2e-6 * c + 1e-2};
  }
}

Tol exact_or_bf16(DType t) { return t == DType::bf16 ? Tol{1e-2, 0} : Tol{0, 0}; }

Tol row_tol(DType t) {
  switch (t) {
    case DType::f64: return {1e-12, 1e-12};
    case DType::f32: return {1e-5, 1e-6};
    default: return {1e-2, 1e-2};
  }
}

struct RowCase {
  Shape shape;
  std::vector<int> dims;  // reduced axes
};

// (rows, cols) after the engine moves the reduced axes last: see the file comment.
std::vector<RowCase> reduce_cases() {
  return {
      {{1}, {0}},             // 1 × 1
      {{5, 7}, {1}},          // cols < 32: warp, most lanes idle
      {{70000, 31}, {1}},     // many rows, cols < 32: grid-stride over rows
      {{257, 1000}, {1}},     // warp per row, ~31 values per lane
      {{3, 1025}, {1}},       // just over the warp limit: block per row
      {{4, 20000}, {1}},      // > 8192: block per row
      {{1048583}, {0}},       // one long row (> 1M)
      {{20, 30, 7}, {0, 2}},  // several axes, not last: the engine permutes first
      {{64, 3, 50}, {0}},     // leading axis only: cols 64, rows 150
  };
}

TEST_CASE("cuda reductions match the CPU", "[cuda][reduce]") {
  Generator gen(31);
  PoisonScope poison;
  for (DType t : float_types())
    for (const RowCase& c : reduce_cases()) {
      Tensor x = random_input(c.shape, gen, t);
      Tensor xr = reference_input(x), xg = x.to(gpu());
      int64_t cols = 1;
      for (int d : c.dims) cols *= c.shape[size_t(d)];
      std::string what =
          std::string(dtype_name(t)) + " " + shape_str(c.shape) + " over " + std::to_string(c.dims.size()) + " axes";
      Tol st = sum_tol(t, cols), ex = exact_or_bf16(t);
      check_close(sum(xr, c.dims), sum(xg, c.dims), st.rtol, st.atol, "sum " + what);
      check_close(mean(xr, c.dims, true), mean(xg, c.dims, true), st.rtol, st.atol / double(cols), "mean " + what);
      check_close(max(xr, c.dims), max(xg, c.dims), ex.rtol, ex.atol, "max " + what);
      check_close(min(xr, c.dims), min(xg, c.dims), ex.rtol, ex.atol, "min " + what);
      if (cols > 1) {
        // var ~ 1: its rounding error is the mean-level error of sums of squares.
        check_close(var(xr, c.dims), var(xg, c.dims), st.rtol, st.atol / double(cols) + row_tol(t).atol, "var " + what);
        check_close(var(xr, c.dims, 0.0), var(xg, c.dims, 0.0), st.rtol, st.atol / double(cols) + row_tol(t).atol,
                    "var (correction 0) " + what);
        check_close(stddev(xr, c.dims), stddev(xg, c.dims), st.rtol, st.atol / double(cols) + row_tol(t).atol, "std " + what);
      }
    }
  // sum(t) and mean(t): every axis, one row.
  for (DType t : float_types()) {
    Tensor x = random_input({37, 29, 3}, gen, t);
    Tol st = sum_tol(t, x.numel());
    check_close(sum(reference_input(x)), sum(x.to(gpu())), st.rtol, st.atol, std::string("sum all ") + dtype_name(t));
    check_close(mean(reference_input(x)), mean(x.to(gpu())), st.rtol, st.atol / double(x.numel()),
                std::string("mean all ") + dtype_name(t));
  }
  // sum over an empty axis is 0 (cols = 0 on the warp branch).
  check_close(sum(zeros({4, 0}), {1}), sum(zeros({4, 0}, DType::f32, gpu()), {1}), 0, 0, "sum over an empty axis");
}

TEST_CASE("cuda softmax, log_softmax, logsumexp and l2_normalize match the CPU", "[cuda][reduce]") {
  Generator gen(32);
  PoisonScope poison;
  const Shape shapes[] = {{1, 1}, {6, 7}, {70000, 31}, {129, 1000}, {3, 1025}, {4, 20000}, {9, 5, 33}};
  for (DType t : float_types())
    for (const Shape& s : shapes)
      for (int dim : {-1, 0}) {
        // Wider logits (max subtraction matters), scaled in f32 since the CPU has no bf16 math.
        Tensor x = mul(random_input(s, gen, DType::f32), 3.0).to(t);
        Tensor xr = reference_input(x), xg = x.to(gpu());
        std::string what = std::string(dtype_name(t)) + " " + shape_str(s) + " dim " + std::to_string(dim);
        Tol rt = row_tol(t);
        check_close(softmax(xr, dim), softmax(xg, dim), rt.rtol, rt.atol, "softmax " + what);
        // log_softmax = x - logsumexp: the logsumexp error is absolute and grows with log(cols).
        check_close(log_softmax(xr, dim), log_softmax(xg, dim), rt.rtol, rt.atol * 10, "log_softmax " + what);
        check_close(logsumexp(xr, dim), logsumexp(xg, dim), rt.rtol, rt.atol * 10, "logsumexp " + what);
        check_close(logsumexp(xr, dim, true), logsumexp(xg, dim, true), rt.rtol, rt.atol * 10,
                    "logsumexp keepdim " + what);
        // Composed of mul, sum, clamp, sqrt and div (bf16 rounds after each): 10x the row tolerance.
        check_close(l2_normalize(xr, dim), l2_normalize(xg, dim), rt.rtol * 10, rt.atol * 10, "l2_normalize " + what);
      }
}

struct GemmCase {
  const char* name;
  Shape a, b;             // logical shapes
  bool trans_a, trans_b;  // store a / b with the last two axes swapped and pass a transposed view
};

TEST_CASE("cuda matmul matches the CPU", "[cuda][gemm]") {
  Generator gen(33);
  PoisonScope poison;
  const GemmCase cases[] = {
      {"1x1", {1, 1}, {1, 1}, false, false},
      {"odd", {37, 53}, {53, 29}, false, false},
      {"a transposed", {37, 53}, {53, 29}, true, false},
      {"b transposed", {37, 53}, {53, 29}, false, true},
      {"both transposed", {37, 53}, {53, 29}, true, true},
      {"batched, b transposed", {4, 17, 9}, {4, 9, 11}, false, true},
      {"batched", {4, 17, 9}, {4, 9, 11}, false, false},
      {"broadcast b (stride 0)", {5, 3, 8}, {8, 6}, false, false},
      {"broadcast a (stride 0)", {3, 8}, {5, 8, 6}, false, false},
      {"broadcast batch axes", {2, 1, 3, 4}, {1, 5, 4, 2}, false, false},
      {"large output", {1031, 64}, {64, 1029}, false, false},
      {"k = 0", {3, 0}, {0, 4}, false, false},
  };
  for (DType t : float_types())
    for (const GemmCase& c : cases) {
      // A "transposed" operand is stored with its last two axes swapped and viewed back.
      auto make = [&](Shape s, bool tr) {
        if (tr) std::swap(s[s.size() - 1], s[s.size() - 2]);
        Tensor x = random_input(s, gen, t);
        return tr ? x.transpose(-1, -2) : x;
      };
      Tensor a = make(c.a, c.trans_a), b = make(c.b, c.trans_b);
      Tensor want = matmul(reference_input(a), reference_input(b));
      // to(Device) copies contiguously, so transfer the stored layout and transpose on the device:
      // the GPU operand is then column-major too and reaches the trans_a / trans_b branch.
      Tensor ag = c.trans_a ? a.transpose(-1, -2).to(gpu()).transpose(-1, -2) : a.to(gpu());
      Tensor bg = c.trans_b ? b.transpose(-1, -2).to(gpu()).transpose(-1, -2) : b.to(gpu());
      Tensor got = matmul(ag, bg);
      int64_t k = c.a.back();
      Tol tol = t == DType::f64 ? Tol{1e-12, 1e-12 * double(k + 1)}
                                : (t == DType::f32 ? Tol{1e-5, 2e-6 * double(k + 1)} : Tol{1e-2, 1e-3 * double(k + 1)});
      check_close(want, got, tol.rtol, tol.atol, std::string("matmul ") + dtype_name(t) + " " + c.name);
    }
}

TEST_CASE("cuda index_select, index_add, gather and scatter_add match the CPU", "[cuda][index]") {
  Generator gen(34);
  PoisonScope poison;
  for (DType t : float_types()) {
    std::string n = dtype_name(t);
    // index_add sums in the dtype: f32/f64 are bit-exact (same order); bf16 within rounding.
    Tol acc = t == DType::bf16 ? Tol{1e-2, 1e-2} : Tol{0, 0};
    for (int dim : {0, 1, 2}) {
      Shape s = {6, 9, 5};
      Tensor x = random_input(s, gen, t);
      Tensor idx = random_index({13}, gen, s[size_t(dim)]);  // 13 > D: repeats guaranteed
      std::string what = n + " dim " + std::to_string(dim);
      check_close(index_select(reference_input(x), dim, idx), index_select(x.to(gpu()), dim, idx.to(gpu())), acc.rtol,
                  acc.atol, "index_select " + what);
      Shape ss = s;
      ss[size_t(dim)] = 13;
      Tensor src = random_input(ss, gen, t);
      check_close(index_add(reference_input(x), dim, idx, reference_input(src)),
                  index_add(x.to(gpu()), dim, idx.to(gpu()), src.to(gpu())), acc.rtol, acc.atol, "index_add " + what);
      Shape is = s;
      is[size_t(dim)] = 11;
      Tensor gidx = random_index(is, gen, s[size_t(dim)]);
      check_close(gather(reference_input(x), dim, gidx), gather(x.to(gpu()), dim, gidx.to(gpu())), acc.rtol, acc.atol,
                  "gather " + what);
      Tensor gsrc = random_input(is, gen, t);
      check_close(scatter_add(reference_input(x), dim, gidx, reference_input(gsrc)),
                  scatter_add(x.to(gpu()), dim, gidx.to(gpu()), gsrc.to(gpu())), acc.rtol, acc.atol,
                  "scatter_add " + what);
    }
    // Large: > 1M outputs (grid-stride loops), few indices so the scan stays cheap.
    Tensor big = random_input({1030, 1025}, gen, t);
    Tensor bidx = random_index({3}, gen, 1030);
    check_close(index_select(reference_input(big), 0, bidx), index_select(big.to(gpu()), 0, bidx.to(gpu())), acc.rtol,
                acc.atol, "index_select large " + n);
    Tensor bsrc = random_input({3, 1025}, gen, t);
    check_close(index_add(reference_input(big), 0, bidx, reference_input(bsrc)),
                index_add(big.to(gpu()), 0, bidx.to(gpu()), bsrc.to(gpu())), acc.rtol, acc.atol,
                "index_add large " + n);
  }
}


// A small composite through softmax, matmul, gather, index_select, var and friends: forward and
// backward on both devices, every input's gradient compared.
Tensor composite(const Tensor& x, const Tensor& w, const Tensor& gidx, const Tensor& sidx) {
  Tensor h = matmul(x, w);                                 // (8, 12)
  Tensor s = softmax(h, 1);                                // (8, 12)
  Tensor g = gather(s, 1, gidx);                           // (8, 5)
  Tensor sel = index_select(h, 0, sidx);                   // (6, 12)
  Tensor v = var(sel, {0});                                // (12)
  Tensor ls = log_softmax(relu(h) + exp(mul(h, 0.1)), 0);  // (8, 12)
  Tensor m = max(h, {1});                                  // (8)
  Tensor z = scatter_add(zeros_like(s), 1, gidx, g);       // (8, 12)
  Tensor loss = sum(mul(g, g)) + sum(v) + mean(mul(ls, s)) + sum(m) + sum(sqrt(add(mul(z, z), 1.0))) +
                sum(logsumexp(clamp(h, -2.0, 2.0), 1)) + sum(div(x, add(abs(x), 1.0)));
  return loss;
}

TEST_CASE("cuda backward of a composite matches the CPU", "[cuda][autograd]") {
  Generator gen(35);
  PoisonScope poison;
  for (DType t : {DType::f32, DType::f64}) {
    Tensor x = random_input({8, 16}, gen, t), w = random_input({16, 12}, gen, t);
    Tensor gidx = random_index({8, 5}, gen, 12), sidx = random_index({6}, gen, 8);
    Tensor xc = x.detach(), wc = w.detach();
    xc.set_requires_grad(true);
    wc.set_requires_grad(true);
    Tensor xg = x.to(gpu()), wg = w.to(gpu());
    xg.set_requires_grad(true);
    wg.set_requires_grad(true);
    Tensor lc = composite(xc, wc, gidx, sidx), lg = composite(xg, wg, gidx.to(gpu()), sidx.to(gpu()));
    lc.backward();
    lg.backward();
    REQUIRE(xg.grad().defined());
    REQUIRE(wg.grad().defined());
    CHECK(xg.grad().device() == gpu());
    Tol tol = t == DType::f64 ? Tol{1e-10, 1e-10} : Tol{1e-4, 1e-5};
    std::string n = dtype_name(t);
    check_close(lc, lg, tol.rtol, tol.atol, "loss " + n);
    check_close(xc.grad(), xg.grad(), tol.rtol, tol.atol, "d loss / d x " + n);
    check_close(wc.grad(), wg.grad(), tol.rtol, tol.atol, "d loss / d w " + n);
  }
}

}  // namespace
}  // namespace mtmap::test
