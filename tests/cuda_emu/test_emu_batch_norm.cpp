// The CUDA batch norm kernels (kernels/cuda/batch_norm.cu, its own source on the CPU emulator)
// against the CPU kernels: training statistics and running statistics, eval statistics, apply with
// and without the fused ReLU, and backward (training and eval, ReLU mask applied on the fly), on
// shapes that hit the chunking's edges: one and two values per channel, S = 1, N·S around the
// 4096-value chunk, and more than 1024 chunks' worth (the chunk length grows).
// Tolerances as tests/cuda/test_cuda_norm_pool.cpp states them (the same arithmetic as on a GPU).
#include <catch2/catch.hpp>

#include "kernels/cpu/batch_norm.h"
#include "kernels/cuda/batch_norm.cu"
#include "tests/cuda_emu/emu_test_util.h"

using namespace mtmap;
using namespace mtmap::emu_test;

namespace {

struct Tol {
  double rtol, atol;
};

template <class T>
Tol y_tol() {
  if constexpr (std::is_same_v<T, double>) return {1e-10, 1e-12};
  if constexpr (std::is_same_v<T, float>) return {1e-5, 1e-5};
  return {5e-3, 1e-4};
}
template <class T>
Tol dx_tol() {
  if constexpr (std::is_same_v<T, double>) return {1e-10, 1e-12};
  if constexpr (std::is_same_v<T, float>) return {1e-4, 1e-5};
  return {5e-3, 1e-4};
}
template <class T>
Tol sum_tol() {
  if constexpr (std::is_same_v<T, double>) return {1e-10, 1e-12};
  if constexpr (std::is_same_v<T, float>) return {1e-5, 1e-4};
  return {5e-3, 1e-3};
}

// The CPU reference computes bf16 inputs as f32 (what the GPU does in float): Ref, convert.

// Which backward each shape took (both must be covered).
int g_single_pass = 0, g_two_pass = 0;

// T: the input's dtype; P: the parameters' (T's, or f32 with a bf16 input: mixed precision).
template <class T, class P = T>
void check_shape(BatchNormShape s, bool relu, uint32_t seed) {
  const DType t = dtype_of<T>(), pt = dtype_of<P>();
  const int64_t capacity = cuda::bn_one_pass_capacity(t, pt, 0);
  const bool single = cuda::bn_backward_single_pass(s, capacity);
  (single ? g_single_pass : g_two_pass) += 1;
  INFO("N " << s.N << " C " << s.C << " S " << s.S << " relu " << relu << " dtype " << dtype_name(t) << " parameters "
            << dtype_name(pt)
            << (single ? " backward in one pass" : " backward in two passes"));
  const size_t n = size_t(s.N * s.C * s.S), C = size_t(s.C);
  const double eps = 1e-5, momentum = 0.1;
  // An offset per channel so the shifted sums matter.
  std::vector<T> x = random_values<T>(n, seed, 1.0, 5.0), dy = random_values<T>(n, seed + 1);
  std::vector<P> gamma = random_values<P>(C, seed + 2, 0.5, 1.5), beta = random_values<P>(C, seed + 3);
  std::vector<P> rm = random_values<P>(C, seed + 4), rv = random_values<P>(C, seed + 5, 0.5, 2.0);
  emu::DeviceBuffer bx(x.data(), n * sizeof(T)), bdy(dy.data(), n * sizeof(T)), bg(gamma.data(), C * sizeof(P)),
      bb(beta.data(), C * sizeof(P)), brm(rm.data(), C * sizeof(P)), brv(rv.data(), C * sizeof(P));
  std::vector<unsigned char> ws(cuda::bn_workspace_bytes(s));
  emu::DeviceBuffer bws(ws.data(), ws.size());
  const DType rt = dtype_of<Ref<T>>();
  const auto xr = convert<Ref<T>>(x), dyr = convert<Ref<T>>(dy), gr = convert<Ref<T>>(gamma),
             br = convert<Ref<T>>(beta);

  // Training statistics and the running-statistics update.
  std::vector<double> mean(C, std::nan("")), invstd(C, std::nan(""));
  emu::DeviceBuffer bm(mean.data(), C * 8), bi(invstd.data(), C * 8);
  std::vector<P> rm_gpu = rm, rv_gpu = rv;
  emu::DeviceBuffer brm2(rm_gpu.data(), C * sizeof(P)), brv2(rv_gpu.data(), C * sizeof(P));
  cuda::bn_train_stats(t, pt, s, x.data(), eps, momentum, rm_gpu.data(), rv_gpu.data(), mean.data(),
                       invstd.data(), ws.data(), nullptr);
  std::vector<double> mean_ref(C), var_ref(C), invstd_ref(C);
  cpu::bn_stats(rt, s, xr.data(), mean_ref.data(), var_ref.data());
  std::vector<double> rm_ref(C), rv_ref(C);
  const double count = double(s.N * s.S);
  for (size_t c = 0; c < C; ++c) {
    invstd_ref[c] = 1.0 / std::sqrt(var_ref[c] + eps);
    rm_ref[c] = (1 - momentum) * to_double(rm[c]) + momentum * mean_ref[c];
    rv_ref[c] = (1 - momentum) * to_double(rv[c]) + momentum * var_ref[c] * count / (count - 1);
  }
  check_close(mean, mean_ref, 1e-10, 1e-12, "batch mean");
  check_close(invstd, invstd_ref, 1e-9, 1e-12, "batch invstd");
  check_close(rm_gpu, rm_ref, sum_tol<P>().rtol, sum_tol<P>().atol, "running mean");
  check_close(rv_gpu, rv_ref, sum_tol<P>().rtol, sum_tol<P>().atol, "running var");

  // Eval statistics.
  std::vector<double> emean(C, std::nan("")), einv(C, std::nan(""));
  emu::DeviceBuffer bem(emean.data(), C * 8), bei(einv.data(), C * 8);
  cuda::bn_eval_stats(pt, s.C, eps, rm.data(), rv.data(), emean.data(), einv.data(), nullptr);
  std::vector<double> emean_ref(C), einv_ref(C);
  for (size_t c = 0; c < C; ++c) emean_ref[c] = to_double(rm[c]), einv_ref[c] = 1.0 / std::sqrt(to_double(rv[c]) + eps);
  check_close(emean, emean_ref, 0, 0, "eval mean");
  check_close(einv, einv_ref, 1e-15, 0, "eval invstd");

  for (bool training : {true, false}) {
    INFO((training ? "training" : "eval"));
    const std::vector<double>& m = training ? mean : emean;
    const std::vector<double>& is = training ? invstd : einv;
    // Apply (with the statistics the GPU computed, so only the apply is compared).
    std::vector<T> y = poisoned<T>(n);
    emu::DeviceBuffer by(y.data(), n * sizeof(T));
    cuda::bn_apply(t, pt, s, x.data(), m.data(), is.data(), gamma.data(), beta.data(), relu, y.data(), nullptr);
    std::vector<Ref<T>> y_ref(n);
    cpu::bn_apply(rt, s, xr.data(), m.data(), is.data(), gr.data(), br.data(), relu, y_ref.data());
    check_close(y, y_ref, y_tol<T>().rtol, y_tol<T>().atol, "y");

    // Backward: the GPU masks dy with y on the fly; the CPU takes the masked dy.
    std::vector<T> dx = poisoned<T>(n);
    std::vector<P> dgamma = poisoned<P>(C), dbeta = poisoned<P>(C);
    emu::DeviceBuffer bdx(dx.data(), n * sizeof(T)), bdg(dgamma.data(), C * sizeof(P)), bdb(dbeta.data(), C * sizeof(P));
    cuda::bn_backward(t, pt, s, training, x.data(), relu ? y.data() : nullptr, dy.data(), m.data(), is.data(),
                      gamma.data(), dx.data(), dgamma.data(), dbeta.data(), capacity, ws.data(), nullptr);
    std::vector<Ref<T>> masked = dyr;
    if (relu)
      for (size_t i = 0; i < n; ++i)
        if (!(to_double(y[i]) > 0)) masked[i] = 0;
    std::vector<Ref<T>> dx_ref(n), dg_ref(C), db_ref(C);
    cpu::bn_backward(rt, s, training, xr.data(), masked.data(), m.data(), is.data(), gr.data(), dx_ref.data(),
                     dg_ref.data(), db_ref.data());
    check_close(dx, dx_ref, dx_tol<T>().rtol, dx_tol<T>().atol, "dx");
    // With f32 parameters the sums keep f32's precision though the values summed are bf16.
    check_close(dgamma, dg_ref, sum_tol<P>().rtol, sum_tol<P>().atol, "dgamma");
    check_close(dbeta, db_ref, sum_tol<P>().rtol, sum_tol<P>().atol, "dbeta");
  }
}

const BatchNormShape kShapes[] = {
    {2, 3, 37},    // S not a multiple of anything
    {1, 2, 2},     // training's minimum: two values per channel
    {5, 3, 1},     // S = 1: the channel walk wraps rows every step
    {3, 2, 1500},  // N·S = 4500: one full 4096-value chunk and a short one
    {2, 4, 64},    // the ResNet's kind of shape, scaled down
    {2, 5, 3000},  // 15 one-pass blocks: more than the emulated GPU holds, so two passes
};

}  // namespace

TEST_CASE("emulated cuda batch norm matches the CPU kernels (f64, f32, bf16, bf16 with f32 parameters, relu or not)",
          "[emu][bn]") {
  uint32_t seed = 1;
  for (const BatchNormShape& s : kShapes)
    for (bool relu : {false, true}) {
      check_shape<double>(s, relu, seed += 10);
      check_shape<float>(s, relu, seed += 10);
      check_shape<BFloat16>(s, relu, seed += 10);
      check_shape<BFloat16, float>(s, relu, seed += 10);  // mixed precision: bf16 activations
    }
  CHECK(g_single_pass > 0);
  CHECK(g_two_pass > 0);
}

TEST_CASE("emulated cuda batch norm: more than 1024 chunks' worth per channel (the chunk grows)", "[emu][bn]") {
  check_shape<float>({1, 1, 1024 * 4096 + 77}, false, 7);
}

TEST_CASE("emulated cuda batch norm: parameters of another dtype are refused, naming both", "[emu][bn]") {
  const BatchNormShape s{2, 3, 5};
  CHECK_THROWS_WITH(cuda::bn_apply(DType::f32, DType::f64, s, nullptr, nullptr, nullptr, nullptr, nullptr, false,
                                   nullptr, nullptr),
                    Catch::Contains("bn_apply") && Catch::Contains("f32 input with f64 parameters"));
  CHECK_THROWS_WITH(cuda::bn_one_pass_capacity(DType::f64, DType::bf16, 0), Catch::Contains("bn_one_pass_capacity"));
}
