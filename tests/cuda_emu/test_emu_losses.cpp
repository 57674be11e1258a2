// The CUDA loss kernels, their own source on the CPU emulator, against the CPU kernels:
//  - the spatial-correlation loss (kernels/cuda/spatial_loss.cu) end to end through its launchers,
//    both forms, forward and backward: sizes that are no multiple of the 16-wide tile or the
//    256-thread block, M > 512 (more pairs per thread in the pair reduction), a row stride past M,
//    and a dead (constant) unit;
//  - InfoNCE's row kernels (kernels/cuda/info_nce_kernels.cuh). Their launcher's two GEMMs run in
//    cuBLAS, which the emulator cannot run: here the test computes them with host loops in the
//    storage type, so what is checked is our kernels, not the GEMM.
// Tolerances as tests/cuda/test_cuda_losses.cpp: f64 rtol 1e-10; f32 rtol 1e-4 (for the gradients,
// sums of terms that cancel, plus rtol times the largest element as the absolute part).
#include <catch2/catch.hpp>

#include "kernels/cpu/info_nce.h"
#include "kernels/cpu/spatial_loss.h"
#include "kernels/cuda/info_nce_kernels.cuh"
#include "kernels/cuda/spatial_loss.cu"
#include "tests/cuda_emu/emu_test_util.h"

using namespace mtmap;
using namespace mtmap::emu_test;

namespace {

template <class T>
double rtol() {
  return std::is_same_v<T, double> ? 1e-10 : 1e-4;
}

std::vector<double> target_of(int64_t M, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(0, 10);
  std::vector<double> x(static_cast<size_t>(M)), y(static_cast<size_t>(M)), t(static_cast<size_t>(M * M));
  for (int64_t i = 0; i < M; ++i) x[size_t(i)] = d(rng), y[size_t(i)] = d(rng);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < M; ++j)
      t[size_t(i * M + j)] = 1.0 / (std::hypot(x[size_t(i)] - x[size_t(j)], y[size_t(i)] - y[size_t(j)]) + 1.0);
  return t;
}

template <class T>
void check_spatial(int64_t B, int64_t M, int64_t ldx, SpatialLossForm form, uint32_t seed) {
  INFO("spatial loss B " << B << " M " << M << " ldx " << ldx << " form " << int(form) << " "
                         << dtype_name(dtype_of<T>()));
  SpatialLossParams p{B, M, ldx, form};
  std::vector<T> x = random_values<T>(size_t(B * ldx), seed);
  for (int64_t b = 0; b < B; ++b) x[size_t(b * ldx + M / 2)] = T(0.25);  // a dead unit
  std::vector<T> target = [&] {
    auto t = target_of(M, seed + 1);
    return std::vector<T>(t.begin(), t.end());
  }();
  const T grad = T(0.9);
  std::vector<unsigned char> ws(cuda::spatial_loss_workspace_bytes(p));
  std::vector<T> loss = poisoned<T>(1), g(1, grad);
  std::vector<double> r(1, std::nan(""));
  emu::DeviceBuffer bx(x.data(), x.size() * sizeof(T)), bt(target.data(), target.size() * sizeof(T)),
      bws(ws.data(), ws.size()), bg(g.data(), sizeof(T));
  cuda::spatial_loss_forward(dtype_of<T>(), p, x.data(), target.data(), loss.data(), r.data(), ws.data(), nullptr);
  cpu::SpatialLossValue want = cpu::spatial_loss_forward(dtype_of<T>(), p, x.data(), target.data());
  check_close(loss, std::vector<double>{want.loss}, rtol<T>(), 1e-12, "loss");
  if (form == SpatialLossForm::relative) check_close(r, std::vector<double>{want.r}, rtol<T>(), 1e-12, "r");

  std::vector<T> dx = poisoned<T>(size_t(B * M)), dx_ref(size_t(B * M));
  cuda::spatial_loss_backward(dtype_of<T>(), p, x.data(), target.data(), g.data(), dx.data(), ws.data(), nullptr);
  cpu::spatial_loss_backward(dtype_of<T>(), p, x.data(), target.data(), double(grad), dx_ref.data());
  double scale = 0;
  for (T v : dx_ref) scale = std::max(scale, std::fabs(double(v)));
  check_close(dx, dx_ref, rtol<T>(), 1e-6 * scale, "dx");
}

// Row-major (N, K) = q (N, D) · queueᵀ, accumulated in double, stored as T (the GEMM's place).
template <class T>
std::vector<T> logits_of(const InfoNceParams& p, const std::vector<T>& q, const std::vector<T>& queue) {
  std::vector<T> out(size_t(p.N * p.K));
  for (int64_t i = 0; i < p.N; ++i)
    for (int64_t j = 0; j < p.K; ++j) {
      double s = 0;
      for (int64_t c = 0; c < p.D; ++c) s += double(q[size_t(i * p.D + c)]) * double(queue[size_t(j * p.D + c)]);
      out[size_t(i * p.K + j)] = T(s);
    }
  return out;
}

template <class T>
void check_info_nce(int64_t N, int64_t D, int64_t K, uint32_t seed) {
  using namespace cuda::loss_detail;
  INFO("info_nce N " << N << " D " << D << " K " << K << " " << dtype_name(dtype_of<T>()));
  InfoNceParams p{N, D, K, 1.0 / 0.2};
  std::vector<T> q = random_values<T>(size_t(N * D), seed, -0.5, 0.5), k = random_values<T>(size_t(N * D), seed + 1, -0.5, 0.5),
                 queue = random_values<T>(size_t(K * D), seed + 2, -0.5, 0.5);
  std::vector<T> logits = logits_of(p, q, queue);
  std::vector<double> lse(size_t(N), std::nan("")), row_loss(size_t(N), std::nan(""));
  std::vector<T> loss = poisoned<T>(1);
  emu::DeviceBuffer bq(q.data(), q.size() * sizeof(T)), bk(k.data(), k.size() * sizeof(T)),
      bl(logits.data(), logits.size() * sizeof(T)), blse(lse.data(), lse.size() * 8),
      brl(row_loss.data(), row_loss.size() * 8);
  cuda::launch_kernel(info_nce_rows<T>, dim3(unsigned(N)), dim3(kReduceThreads), 0, nullptr, p,
                      static_cast<const T*>(q.data()), static_cast<const T*>(k.data()),
                      static_cast<const T*>(logits.data()), lse.data(), row_loss.data());
  cuda::launch_kernel(mean_rows<T>, dim3(1), dim3(kReduceThreads), 0, nullptr, N,
                      static_cast<const double*>(row_loss.data()), loss.data());
  std::vector<double> lse_ref(static_cast<size_t>(N));
  double want = cpu::info_nce_forward(dtype_of<T>(), p, q.data(), k.data(), queue.data(), lse_ref.data());
  check_close(loss, std::vector<double>{want}, rtol<T>(), 1e-12, "loss");
  check_close(lse, lse_ref, rtol<T>(), 1e-12, "lse");

  // Backward: the kernel turns the logits into dLoss/dlogits and writes the positive's share of dq
  // and dk; the second GEMM (dq += dlogits · queue) is the host loop here.
  const T grad = T(1.7);
  std::vector<T> g(1, grad), dq = poisoned<T>(size_t(N * D)), dk = poisoned<T>(size_t(N * D));
  emu::DeviceBuffer bgr(g.data(), sizeof(T));
  cuda::launch_kernel(info_nce_dlogits<T>, dim3(unsigned(N)), dim3(kReduceThreads), 0, nullptr, p,
                      static_cast<const T*>(q.data()), static_cast<const T*>(k.data()),
                      static_cast<const double*>(lse.data()), static_cast<const T*>(g.data()), logits.data(),
                      dq.data(), dk.data());
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < D; ++c) {
      double s = double(dq[size_t(i * D + c)]);
      for (int64_t j = 0; j < K; ++j) s += double(logits[size_t(i * K + j)]) * double(queue[size_t(j * D + c)]);
      dq[size_t(i * D + c)] = T(s);
    }
  std::vector<T> dq_ref(size_t(N * D)), dk_ref(size_t(N * D));
  cpu::info_nce_backward(dtype_of<T>(), p, q.data(), k.data(), queue.data(), lse_ref.data(), double(grad),
                         dq_ref.data(), dk_ref.data());
  // dq is a sum of K + 1 terms that cancel: its error scales with the terms, not with dq, so the
  // absolute part is rtol times the largest |dq| (f32: dlogits and logits are stored in float).
  auto scale = [](const std::vector<T>& v) {
    double m = 0;
    for (T e : v) m = std::max(m, std::fabs(double(e)));
    return m;
  };
  check_close(dq, dq_ref, rtol<T>(), rtol<T>() * scale(dq_ref), "dq");
  check_close(dk, dk_ref, rtol<T>(), rtol<T>() * scale(dk_ref), "dk");
}

}  // namespace

TEST_CASE("emulated cuda spatial loss matches the CPU kernels, forward and backward", "[emu][losses]") {
  uint32_t seed = 11;
  for (SpatialLossForm form : {SpatialLossForm::relative, SpatialLossForm::absolute}) {
    check_spatial<double>(5, 7, 7, form, seed += 10);
    check_spatial<float>(5, 7, 7, form, seed += 10);
    check_spatial<double>(20, 33, 40, form, seed += 10);
    check_spatial<float>(20, 33, 40, form, seed += 10);
  }
  check_spatial<double>(3, 530, 530, SpatialLossForm::relative, 99);
}

TEST_CASE("emulated cuda InfoNCE row kernels match the CPU kernels, forward and backward", "[emu][losses]") {
  uint32_t seed = 21;
  for (auto [N, D, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 3, 1}, {5, 16, 37}, {9, 300, 270}}) {
    check_info_nce<double>(N, D, K, seed += 10);
    check_info_nce<float>(N, D, K, seed += 10);
  }
}
