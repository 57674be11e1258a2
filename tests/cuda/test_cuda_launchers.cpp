// The CUDA launchers at the edges the op-level parity tests do not reach cheaply:
//  - grids that need a second grid-stride iteration (the launchers cap a grid at 65536 blocks:
//    > 16.7M elements for elementwise, copy, fill, random and index kernels; > 524288 rows for the
//    warp-per-row kernels; > 65536 rows for the block-per-row kernels);
//  - the warp / block threshold itself (cols 1024 and 1025);
//  - run-to-run determinism (the same launch twice gives the same bits);
//  - the launchers' own argument errors (unsupported dtype, short randperm workspace, a cuBLAS
//    handle bound to another stream), called directly, below the engine's checks;
//  - the bf16 branch of normal, which the engine does not expose.
// Tolerances are those of test_cuda_ops.cpp / test_cuda_math.cpp (f32 only here).
#include <stdexcept>

#include "engine/ops/copy.h"
#include "engine/ops/index.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "tests/cuda/cuda_test_util.h"

#ifndef MTMAP_TEST_GPU_IS_CPU
#include "kernels/cuda/cuda_kernels.h"
#endif

namespace mtmap::test {
namespace {

constexpr int64_t kBeyondOneGrid = (int64_t(65536) * 256) + 4099;  // 16,781,315 elements

TEST_CASE("cuda elementwise, copy, fill and random loop past one full grid", "[cuda][launcher]") {
  Generator gen(51);
  PoisonScope poison;
  Tensor x = random_input({kBeyondOneGrid}, gen, DType::f32);
  Tensor xg = x.to(gpu());
  check_close(exp(x), exp(xg), 1e-5, 1e-6, "exp, contiguous branch");
  Tensor sq = random_input({4100, 4100}, gen, DType::f32);  // 16.81M, transposed: strided branch
  check_close(mul(sq.transpose(0, 1), 2.0), mul(sq.to(gpu()).transpose(0, 1), 2.0), 1e-5, 1e-6, "mul, strided branch");
  Tensor row = random_input({4100}, gen, DType::f32);
  check_close(add(sq, row), add(sq.to(gpu()), row.to(gpu())), 1e-5, 1e-6, "add, broadcast branch");
  check_equal(x.to(DType::f64), xg.to(DType::f64), "copy f32 -> f64, contiguous");
  check_equal(sq.transpose(0, 1).contiguous(), sq.to(gpu()).transpose(0, 1).contiguous(), "copy strided");
  check_equal(full({kBeyondOneGrid}, 1.25, DType::f32), full({kBeyondOneGrid}, 1.25, DType::f32, gpu()), "fill");
  Generator a(7), b(7);
  check_equal(rand({kBeyondOneGrid}, a, DType::f32), rand({kBeyondOneGrid}, b, DType::f32, gpu()), "rand");
}

TEST_CASE("cuda index kernels loop past one full grid", "[cuda][launcher]") {
  Generator gen(52);
  PoisonScope poison;
  Tensor x = random_input({1030, 1025}, gen, DType::f32);
  Tensor idx = random_index({16400}, gen, 1030);  // 16.8M outputs
  check_equal(index_select(x, 0, idx), index_select(x.to(gpu()), 0, idx.to(gpu())), "index_select");
  Tensor gidx = random_index({16400, 1025}, gen, 1030);
  check_equal(gather(x, 0, gidx), gather(x.to(gpu()), 0, gidx.to(gpu())), "gather");
}

TEST_CASE("cuda row kernels stride over more rows than one grid", "[cuda][launcher]") {
  Generator gen(53);
  PoisonScope poison;
  // Warp per row: 65536 blocks × 8 warps = 524288 rows per pass.
  Tensor a = random_input({600000, 3}, gen, DType::f32);
  check_close(sum(a, {1}), sum(a.to(gpu()), {1}), 1e-5, 2e-6 * 3, "sum, warp per row");
  check_close(softmax(a, 1), softmax(a.to(gpu()), 1), 1e-5, 1e-6, "softmax, warp per row");
  // Block per row: 65536 rows per pass.
  Tensor b = random_input({66000, 1025}, gen, DType::f32);
  Tensor bg = b.to(gpu());
  check_close(max(b, {1}), max(bg, {1}), 0, 0, "max, block per row");
  check_close(logsumexp(b, 1), logsumexp(bg, 1), 1e-5, 1e-5, "logsumexp, block per row");
}

TEST_CASE("cuda reductions at the warp / block threshold", "[cuda][launcher]") {
  Generator gen(54);
  PoisonScope poison;
  for (int64_t cols : {int64_t(1024), int64_t(1025)}) {
    INFO("cols " << cols);
    Tensor x = random_input({33, cols}, gen, DType::f32);
    Tensor xg = x.to(gpu());
    check_close(sum(x, {1}), sum(xg, {1}), 1e-5, 2e-6 * double(cols), "sum");
    check_close(var(x, {1}), var(xg, {1}), 1e-5, 1e-5, "var");
    check_close(min(x, {1}), min(xg, {1}), 0, 0, "min");
    check_close(softmax(x, 1), softmax(xg, 1), 1e-5, 1e-6, "softmax");
    check_close(log_softmax(x, 1), log_softmax(xg, 1), 1e-5, 1e-5, "log_softmax");
  }
}

TEST_CASE("cuda reductions and accumulations are deterministic run to run", "[cuda][launcher]") {
  Generator gen(55);
  Tensor x = random_input({7, 30000}, gen, DType::f32).to(gpu());
  check_equal(sum(x, {1}), sum(x, {1}), "sum, block per row");
  check_equal(var(x, {0}), var(x, {0}), "var, warp per row");
  check_equal(softmax(x, 1), softmax(x, 1), "softmax");
  Tensor idx = random_index({5000}, gen, 7).to(gpu());
  Tensor src = random_input({5000, 50}, gen, DType::f32).to(gpu());
  Tensor base = zeros({7, 50}, DType::f32, gpu());
  check_equal(index_add(base, 0, idx, src), index_add(base, 0, idx, src), "index_add");
}

#ifndef MTMAP_TEST_GPU_IS_CPU  // calls the CUDA launchers directly
TEST_CASE("cuda normal in bf16 rounds the CPU's f32 normals", "[cuda][launcher][random]") {
  // randn() offers f32 and f64 only, so the launcher's bf16 branch is called directly. Both sides
  // round the double Box-Muller value to float, then to bf16; the doubles differ by libm ulps, so
  // the results are nearly always bit-equal and always within one bf16 rounding (rtol 1e-2).
  PoisonScope poison;
  int64_t n = 100003;
  Generator cpu_gen(5, 9);
  Tensor want = randn({n}, cpu_gen, DType::f32).to(DType::bf16);
  Tensor got = empty({n}, DType::bf16, gpu());
  cuda::normal(DType::bf16, n, 5, 9, got.raw(), gpu_state().stream());
  check_close(want, got, 1e-2, 1e-6, "normal bf16");
}

TEST_CASE("cuda launchers reject bad arguments", "[cuda][launcher]") {
  cudaStream_t s = gpu_state().stream();
  Tensor buf = zeros({64}, DType::f32, gpu());
  ReduceParams rp;
  rp.rows = 1;
  rp.cols = 4;
  CHECK_THROWS_AS(cuda::reduce(DType::i32, rp, buf.raw(), buf.raw(), s), std::invalid_argument);
  UnaryParams up;
  up.n = 4;
  CHECK_THROWS_AS(cuda::unary(DType::u8, up, buf.raw(), buf.raw(), s), std::invalid_argument);
  CHECK_THROWS_AS(cuda::uniform(DType::bf16, 4, 1, 0, buf.raw(), s), std::invalid_argument);
  CHECK_THROWS_AS(cuda::randperm(1000, 1, 0, static_cast<int64_t*>(buf.raw()), buf.raw(), 256, s),
                  std::invalid_argument);
  GemmParams gp;
  gp.m = gp.n = gp.k = 2;
  gp.lda = gp.ldb = gp.ldc = 2;
  CHECK_THROWS_AS(cuda::gemm(DType::i64, gp, buf.raw(), buf.raw(), buf.raw(), gpu_state().cublas(), s),
                  std::invalid_argument);
  // The handle is bound to the context's stream, not to the legacy default stream.
  CHECK_THROWS_AS(cuda::gemm(DType::f32, gp, buf.raw(), buf.raw(), buf.raw(), gpu_state().cublas(), nullptr),
                  std::invalid_argument);
  gpu_state().synchronize();
}
#endif

}  // namespace
}  // namespace mtmap::test
