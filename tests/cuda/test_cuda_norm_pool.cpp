// CUDA parity of batch norm (train and eval, ReLU fused or not), max_pool3d, adaptive_avg_pool3d
// and the residual add_relu: forward values, running statistics and every gradient through
// autograd, against the CPU ops on fresh random inputs, every new CUDA block poisoned (NaN).
//
// Shapes hit every launcher branch and edge: the ResNet's (N 2, C 64, 8×28×28); C = 1; one value
// per channel (eval) and two (training's minimum); a 2-D (N, C) input (S = 1: the channel walk
// wraps rows every step); chunk edges (N·S not a multiple of the 4096-value chunk, S not a
// multiple of the 256-thread block); > 4·2^20 values per channel (the chunk length grows past its
// minimum so the chunk count stays ≤ 1024); pools with padding, overlapping windows, ties and a
// NaN, and adaptive cells that overlap (In/Out not whole) or repeat (Out > In).
//
// Tolerances (|got − want| ≤ atol + rtol·|want|):
//  - pools and add_relu: bit-exact on every dtype. The GPU picks the same maxima, and adds the
//    same terms in the same order in the same type as the CPU (bf16: the CPU f32 op on the same
//    bf16 values, rounded once to bf16, is exactly what the GPU computes).
//  - batch norm f64: rtol 1e-10 (the GPU sums shifted values, the CPU does two passes).
//  - batch norm f32: rtol 1e-5, atol 1e-5 on y (the same a·x + b without FMA on both sides; a and
//    b may still differ by an ulp from the statistics' last bits); dx rtol 1e-4, atol 1e-5 (float
//    arithmetic on the GPU, double on the CPU, on terms of size ~1); dgamma, dbeta and running
//    statistics (double sums on both sides) rtol 1e-5, atol 1e-4.
//  - batch norm bf16: against the CPU f32 op on the same bf16 values; the GPU computes in float
//    and rounds each output once to bf16 (8 significant bits: a rounding moves a value by at most
//    half an ulp, ≤ 2^-8 ≈ 3.9e-3 of it), so rtol 5e-3 with atol 1e-4 for results near 0
//    (float-level differences, ~1e-6, of terms of size ~1).
#include "engine/ops/copy.h"
#include "engine/ops/norm_pool.h"
#include "engine/ops/reduce.h"
#include "tests/cuda/cuda_test_util.h"
#ifndef MTMAP_TEST_GPU_IS_CPU
#include "engine/cuda/context.h"
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/pool3d.h"
#endif

namespace mtmap::test {
namespace {

// A fresh copy on device d (to(cpu) of a CPU tensor is the tensor itself; the running statistics
// are updated in place, so each run needs its own).
Tensor fresh(const Tensor& t, Device d) { return convert(t, t.dtype(), /*force_copy=*/true).to(d); }

Tensor grad_leaf(const Tensor& t, Device d) {
  Tensor l = fresh(t, d).detach();
  l.set_requires_grad(true);
  return l;
}

struct BnRun {
  Tensor y, dx, dw, db, running_mean, running_var;
};

BnRun run_bn(const Tensor& x0, const Tensor& w0, const Tensor& b0, const Tensor& rm0, const Tensor& rv0,
             const Tensor& gy0, Device d, const BatchNormOptions& o) {
  Tensor x = grad_leaf(x0, d), w = grad_leaf(w0, d), b = grad_leaf(b0, d);
  Tensor rm = fresh(rm0, d), rv = fresh(rv0, d);
  Tensor y = batch_norm(x, w, b, rm, rv, o);
  y.backward(gy0.to(d));
  return {y, x.grad(), w.grad(), b.grad(), rm, rv};
}

struct BnTol {
  Tol y, dx, sums;
};

BnTol bn_tol(DType t) {
  switch (t) {
    case DType::f64: return {{1e-10, 1e-12}, {1e-10, 1e-11}, {1e-10, 1e-10}};
    case DType::f32: return {{1e-5, 1e-5}, {1e-4, 1e-5}, {1e-5, 1e-4}};
    default: return {{5e-3, 1e-4}, {5e-3, 1e-4}, {5e-3, 1e-4}};
  }
}

void check_bn(const Shape& shape, DType t, bool training, bool relu, uint64_t seed) {
  PoisonScope poison;
  Generator gen(seed);
  const int64_t C = shape[1];
  // Off-centre activations (mean 1.5, std 2) and a non-trivial affine map and running statistics.
  Tensor x = add(mul(random_input(shape, gen, DType::f64), 2.0), 1.5).to(t);
  Tensor w = add(rand({C}, gen, DType::f64), 0.5).to(t), b = random_input({C}, gen, t);
  Tensor rm = random_input({C}, gen, t), rv = add(rand({C}, gen, DType::f64), 0.5).to(t);
  Tensor gy = random_input(shape, gen, t);
  BatchNormOptions o;
  o.training = training;
  o.relu = relu;
  o.momentum = 0.3;
  BnRun want = run_bn(reference_input(x), reference_input(w), reference_input(b), reference_input(rm),
                      reference_input(rv), reference_input(gy), Device::cpu(), o);
  BnRun got = run_bn(x, w, b, rm, rv, gy, gpu(), o);
  BnTol tol = bn_tol(t);
  std::string what = fmt::format("batch_norm {} {} {}{}", shape_str(shape), dtype_name(t), training ? "train" : "eval",
                                 relu ? " relu" : "");
  check_close(want.y, got.y, tol.y.rtol, tol.y.atol, what + " y");
  check_close(want.dx, got.dx, tol.dx.rtol, tol.dx.atol, what + " dx");
  check_close(want.dw, got.dw, tol.sums.rtol, tol.sums.atol, what + " dgamma");
  check_close(want.db, got.db, tol.sums.rtol, tol.sums.atol, what + " dbeta");
  check_close(want.running_mean, got.running_mean, tol.sums.rtol, tol.sums.atol, what + " running_mean");
  check_close(want.running_var, got.running_var, tol.sums.rtol, tol.sums.atol, what + " running_var");
  // Deterministic: a second GPU run gives the same bits (fixed reduction order, no atomics).
  BnRun again = run_bn(x, w, b, rm, rv, gy, gpu(), o);
  check_equal(got.y, again.y, what + " y rerun");
  check_equal(got.dx, again.dx, what + " dx rerun");
  check_equal(got.dw, again.dw, what + " dgamma rerun");
  check_equal(got.running_var, again.running_var, what + " running_var rerun");
}

}  // namespace

TEST_CASE("cuda batch_norm: train and eval, relu fused or not, match the CPU (ResNet shape)") {
  for (DType t : float_types())
    for (bool training : {true, false})
      for (bool relu : {false, true}) check_bn({2, 64, 8, 28, 28}, t, training, relu, 11);
}

// [bn_small]: small enough for compute-sanitizer memcheck (tools/device-check.sh --memcheck).
TEST_CASE("cuda batch_norm: tiny, odd and chunk-edge shapes match the CPU", "[bn_small]") {
  for (DType t : float_types()) {
    for (bool relu : {false, true}) {
      check_bn({2, 1, 1, 1, 1}, t, true, relu, 21);      // C = 1, the fewest values training takes
      check_bn({1, 3, 1, 1, 1}, t, false, relu, 22);     // one value per channel (eval)
      check_bn({37, 6}, t, true, relu, 23);              // (N, C): S = 1
      check_bn({3, 5, 3, 7, 5}, t, true, relu, 24);      // odd everywhere, one partial chunk
      check_bn({3, 2, 5, 19, 31}, t, true, relu, 25);    // 8835 per channel: 3 chunks, the last short
      check_bn({1, 3, 1, 1, 4097}, t, true, relu, 26);   // one value past a chunk
      check_bn({2, 3, 7, 13, 9}, t, false, relu, 27);
    }
  }
}

TEST_CASE("cuda batch_norm: more than 4M values per channel (chunks grow) match the CPU") {
  check_bn({2, 1, 1, 1500, 1500}, DType::f32, true, true, 31);
}

#ifndef MTMAP_TEST_GPU_IS_CPU
// The tests above run both backward kernels: a grid the GPU holds at once takes one pass, the
// >4M-values-per-channel one does not. On an H100/H200 (132 SMs) the ResNet shape is one pass too.
TEST_CASE("cuda batch_norm backward: the one-pass kernel and the two-pass one are both exercised") {
  // The capacity the engine uses: asked of the driver once per device and dtype, kept by the
  // device's context.
  const int64_t capacity = gpu_state().bn_one_pass_capacity(DType::f32, DType::f32);
  CHECK(capacity == cuda::bn_one_pass_capacity(DType::f32, DType::f32, 0));
  CHECK(cuda::bn_backward_single_pass({2, 3, 37}, capacity));
  CHECK_FALSE(cuda::bn_backward_single_pass({2, 1, 1500 * 1500}, capacity));
  CHECK_FALSE(cuda::bn_backward_single_pass({2, 3, 37}, 0));  // no cooperative launches: two passes
  int sms = 0;
  REQUIRE(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0) == cudaSuccess);
  if (sms >= 100) CHECK(cuda::bn_backward_single_pass({2, 64, 8 * 28 * 28}, capacity));
}
#endif

TEST_CASE("cuda batch_norm: weight and bias without grad, x only") {
  PoisonScope poison;
  Generator gen(41);
  for (DType t : float_types()) {
    Tensor x0 = random_input({3, 4, 5, 6, 7}, gen, t), gy = random_input({3, 4, 5, 6, 7}, gen, t);
    auto run = [&](Device d, const Tensor& xin, const Tensor& g) {
      Tensor x = grad_leaf(xin, d);
      Tensor w = ones({4}, xin.dtype(), d), b = zeros({4}, xin.dtype(), d);
      Tensor rm = zeros({4}, xin.dtype(), d), rv = ones({4}, xin.dtype(), d);
      BatchNormOptions o;
      Tensor y = batch_norm(x, w, b, rm, rv, o);
      y.backward(g.to(d));
      CHECK_FALSE(w.grad().defined());
      return x.grad();
    };
    Tensor want = run(Device::cpu(), reference_input(x0), reference_input(gy));
    Tensor got = run(gpu(), x0, gy);
    BnTol tol = bn_tol(t);
    check_close(want, got, tol.dx.rtol, tol.dx.atol, fmt::format("batch_norm x-only {}", dtype_name(t)));
  }
}

namespace {

// Bit-exact comparison of a GPU result in dtype t with the CPU reference (f32 for bf16).
void check_exact(const Tensor& want, const Tensor& got, const std::string& what) {
  check_equal(want.dtype() == got.dtype() ? want : want.to(got.dtype()), got, what);
}

void check_max_pool(const Shape& shape, const Pool3dOptions& o, DType t, bool ties, bool nan, uint64_t seed) {
  PoisonScope poison;
  Generator gen(seed);
  Tensor x = ties ? small_ints(shape, gen, t, 3) : random_input(shape, gen, t);
  if (nan) {
    std::vector<double> v = x.to(DType::f64).to_vector<double>();
    v[v.size() / 3] = NAN;
    x = from_vector(v, shape).to(t);
  }
  std::string what = fmt::format("max_pool3d {} k [{}] s [{}] p [{}] {}{}{}", shape_str(shape), fmt::join(o.kernel, ","),
                                 fmt::join(o.stride, ","), fmt::join(o.padding, ","), dtype_name(t),
                                 ties ? " ties" : "", nan ? " nan" : "");
  auto run = [&](Device d, const Tensor& xin, const Tensor& gy) {
    Tensor xl = grad_leaf(xin, d);
    Tensor y = max_pool3d(xl, o);
    y.backward(gy.to(d));
    return std::pair{y, xl.grad()};
  };
  Tensor y_shape_probe = max_pool3d(reference_input(x), o);
  Tensor gy = random_input(y_shape_probe.shape(), gen, t);
  auto [wy, wdx] = run(Device::cpu(), reference_input(x), reference_input(gy));
  auto [gy_out, gdx] = run(gpu(), x, gy);
  check_exact(wy, gy_out, what + " y");
  check_exact(wdx, gdx, what + " dx");
}

Pool3dOptions pool(std::array<int64_t, 3> k, std::array<int64_t, 3> s, std::array<int64_t, 3> p) {
  Pool3dOptions o;
  o.kernel = k, o.stride = s, o.padding = p;
  return o;
}

}  // namespace

TEST_CASE("cuda max_pool3d forward and backward are bit-exact with the CPU (ResNet shapes)") {
  for (DType t : float_types()) {
    // The Hara stem's pool on a ResNet-sized activation: 3³, stride 2, padding 1.
    check_max_pool({2, 64, 8, 28, 28}, pool({3, 3, 3}, {2, 2, 2}, {1, 1, 1}), t, false, false, 51);
    check_max_pool({2, 8, 4, 28, 28}, pool({1, 3, 3}, {1, 2, 2}, {0, 1, 1}), t, false, false, 52);
  }
}

// [pool_small]: small enough for compute-sanitizer memcheck (tools/device-check.sh --memcheck).
TEST_CASE("cuda max_pool3d forward and backward are bit-exact with the CPU (odd shapes)", "[pool_small]") {
  for (DType t : float_types()) {
    // Odd sizes, unequal kernel/stride/padding per axis, windows that overlap (stride < kernel).
    check_max_pool({3, 5, 7, 9, 11}, pool({2, 3, 2}, {1, 2, 3}, {1, 1, 0}), t, false, false, 53);
    // Ties (first wins) with overlapping windows: one input collects several outputs' gradients.
    check_max_pool({2, 3, 5, 6, 7}, pool({3, 3, 3}, {1, 1, 1}, {1, 1, 1}), t, true, false, 54);
    check_max_pool({1, 1, 1, 1, 1}, pool({1, 1, 1}, {1, 1, 1}, {0, 0, 0}), t, false, false, 55);
    // A window larger than its stride on a single-plane input with a NaN (NaN wins).
    check_max_pool({1, 2, 4, 5, 6}, pool({2, 2, 2}, {2, 1, 2}, {1, 1, 1}), t, false, true, 56);
  }
}

namespace {

void check_avg_pool(const Shape& shape, std::array<int64_t, 3> out, DType t, uint64_t seed) {
  PoisonScope poison;
  Generator gen(seed);
  Tensor x = random_input(shape, gen, t);
  Tensor gy = random_input({shape[0], shape[1], out[0], out[1], out[2]}, gen, t);
  auto run = [&](Device d, const Tensor& xin, const Tensor& g) {
    Tensor xl = grad_leaf(xin, d);
    Tensor y = adaptive_avg_pool3d(xl, out);
    y.backward(g.to(d));
    return std::pair{y, xl.grad()};
  };
  auto [wy, wdx] = run(Device::cpu(), reference_input(x), reference_input(gy));
  auto [got_y, got_dx] = run(gpu(), x, gy);
  std::string what = fmt::format("adaptive_avg_pool3d {} → [{}] {}", shape_str(shape), fmt::join(out, ","), dtype_name(t));
  check_exact(wy, got_y, what + " y");
  check_exact(wdx, got_dx, what + " dx");
}

}  // namespace

TEST_CASE("cuda adaptive_avg_pool3d forward and backward are bit-exact with the CPU (ResNet shapes)") {
  for (DType t : float_types()) {
    check_avg_pool({2, 64, 2, 7, 7}, {1, 1, 1}, t, 61);    // the ResNet's global pool
    check_avg_pool({2, 16, 8, 28, 28}, {1, 1, 1}, t, 62);  // a long global pool (6272 values)
  }
}

TEST_CASE("cuda adaptive_avg_pool3d forward and backward are bit-exact with the CPU (odd shapes)", "[pool_small]") {
  for (DType t : float_types()) {
    check_avg_pool({3, 5, 7, 9, 11}, {3, 4, 5}, t, 63);     // overlapping cells (In/Out not whole)
    check_avg_pool({1, 2, 2, 3, 3}, {5, 4, 7}, t, 64);      // Out > In: each input in several cells
    check_avg_pool({2, 3, 4, 5, 6}, {4, 5, 6}, t, 65);      // identity
    check_avg_pool({1, 1, 1, 1, 1}, {1, 1, 1}, t, 66);
  }
}

TEST_CASE("cuda add_relu (residual add + ReLU) on ResNet shapes is bit-exact with the CPU") {
  for (DType t : float_types())
    for (Shape shape : {Shape{2, 64, 8, 28, 28}, Shape{2, 512, 1, 4, 4}, Shape{3, 5, 3, 7, 5}}) {
      PoisonScope poison;
      Generator gen(71);
      Tensor a = random_input(shape, gen, t), b = random_input(shape, gen, t), gy = random_input(shape, gen, t);
      auto run = [&](Device d, const Tensor& a0, const Tensor& b0, const Tensor& g) {
        Tensor al = grad_leaf(a0, d), bl = grad_leaf(b0, d);
        Tensor y = add_relu(al, bl);
        y.backward(g.to(d));
        return std::tuple{y, al.grad(), bl.grad()};
      };
      auto [wy, wda, wdb] = run(Device::cpu(), reference_input(a), reference_input(b), reference_input(gy));
      auto [got_y, got_da, got_db] = run(gpu(), a, b, gy);
      std::string what = fmt::format("add_relu {} {}", shape_str(shape), dtype_name(t));
      // y: one float add and a max, rounded once (bf16) on both sides; gradients: selections.
      check_exact(wy, got_y, what + " y");
      check_exact(wda, got_da, what + " da");
      check_exact(wdb, got_db, what + " db");
    }
}

}  // namespace mtmap::test

namespace mtmap::test {

TEST_CASE("cuda batch_norm rejects a weight on another device, naming the op and both devices") {
  if (gpu().is_cpu()) return;  // the self-check mode has a single device
  Tensor x = ones({2, 3, 4}, DType::f32, gpu());
  Tensor w = ones({3}), b = zeros({3}, DType::f32, gpu());
  Tensor rm = zeros({3}, DType::f32, gpu()), rv = ones({3}, DType::f32, gpu());
  REQUIRE_THROWS_WITH(batch_norm(x, w, b, rm, rv, BatchNormOptions{}),
                      Catch::Contains("batch_norm") && Catch::Contains("cpu") && Catch::Contains("cuda:0"));
}

}  // namespace mtmap::test
