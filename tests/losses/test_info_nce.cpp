// InfoNCE: values against a direct computation, the gradient's closed form, errors. The float64
// gradient check (q and k; the queue receives none) is generated from tests/op_table.cpp.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "losses/info_nce.h"
#include "tests/test_support.h"

using namespace mtmap;

namespace {

// mean_i [log Σ_j exp(l_ij) − l_i0], computed plainly from the definition.
double direct_info_nce(const Tensor& q, const Tensor& k, const Tensor& queue, double T) {
  const int64_t N = q.size(0), D = q.size(1), K = queue.size(0);
  std::vector<double> qv = q.to_vector<double>(), kv = k.to_vector<double>(), cv = queue.to_vector<double>();
  double total = 0;
  for (int64_t i = 0; i < N; ++i) {
    std::vector<double> l(size_t(K + 1), 0.0);
    for (int64_t d = 0; d < D; ++d) l[0] += qv[size_t(i * D + d)] * kv[size_t(i * D + d)];
    for (int64_t j = 0; j < K; ++j)
      for (int64_t d = 0; d < D; ++d) l[size_t(j + 1)] += qv[size_t(i * D + d)] * cv[size_t(j * D + d)];
    double s = 0;
    for (double& x : l) s += std::exp(x / T);
    total += std::log(s) - l[0] / T;
  }
  return total / double(N);
}

}  // namespace

TEST_CASE("info_nce: values match the direct computation (f64 and f32)") {
  Tensor q = test::leaf({5, 8}, 11).detach(), k = test::leaf({5, 8}, 12).detach(),
         queue = test::leaf({17, 8}, 13).detach();
  for (double T : {0.07, 0.2, 1.0}) {
    double want = direct_info_nce(q, k, queue, T);
    CHECK(losses::info_nce(q, k, queue, T).item() == Approx(want).epsilon(1e-12));
    double got32 = losses::info_nce(q.to(DType::f32), k.to(DType::f32), queue.to(DType::f32), T).item();
    CHECK(got32 == Approx(want).epsilon(1e-5));
  }
  // A perfect positive against orthogonal negatives: loss = log(1 + K e^{-1/T}).
  Tensor e = from_vector(std::vector<double>{1, 0, 0, 0, 1, 0}, {2, 3});
  Tensor negatives = from_vector(std::vector<double>{0, 0, 1, 0, 0, -1}, {2, 3});
  CHECK(losses::info_nce(e, e, negatives, 0.5).item() == Approx(std::log(1 + 2 * std::exp(-2.0))).epsilon(1e-12));
}

TEST_CASE("info_nce: gradient values against the closed form for one row") {
  // N = 1: dL/dq = (1/T)(Σ_j p_j c_j − k) with c_0 = k, dL/dk = (p_0 − 1) q / T.
  Tensor q = test::leaf({1, 3}, 21), k = test::leaf({1, 3}, 22);
  Tensor queue = test::leaf({2, 3}, 23).detach();
  const double T = 0.3;
  losses::info_nce(q, k, queue, T).backward();
  std::vector<double> qv = q.to_vector<double>(), kv = k.to_vector<double>(), cv = queue.to_vector<double>();
  std::vector<std::vector<double>> rows{kv, {cv[0], cv[1], cv[2]}, {cv[3], cv[4], cv[5]}};
  std::vector<double> l(3);
  double s = 0;
  for (int j = 0; j < 3; ++j) {
    for (int d = 0; d < 3; ++d) l[size_t(j)] += qv[size_t(d)] * rows[size_t(j)][size_t(d)] / T;
    s += std::exp(l[size_t(j)]);
  }
  std::vector<double> dq = q.grad().to_vector<double>(), dk = k.grad().to_vector<double>();
  for (int d = 0; d < 3; ++d) {
    double want_q = -kv[size_t(d)] / T, p0 = std::exp(l[0]) / s;
    for (int j = 0; j < 3; ++j) want_q += std::exp(l[size_t(j)]) / s * rows[size_t(j)][size_t(d)] / T;
    CHECK(dq[size_t(d)] == Approx(want_q).epsilon(1e-12));
    CHECK(dk[size_t(d)] == Approx((p0 - 1) * qv[size_t(d)] / T).epsilon(1e-12));
  }
}

TEST_CASE("info_nce: bad input names the culprit") {
  Tensor q = zeros({2, 4}), k = zeros({2, 4}), queue = zeros({3, 4});
  CHECK_THROWS_WITH(losses::info_nce(q, zeros({2, 5}), queue), Catch::Contains("k [2, 5]"));
  CHECK_THROWS_WITH(losses::info_nce(q, k, zeros({3, 5})), Catch::Contains("queue [3, 5]"));
  CHECK_THROWS_WITH(losses::info_nce(q, k, queue, 0.0), Catch::Contains("temperature"));
  Tensor qg = zeros({3, 4});
  qg.set_requires_grad(true);
  CHECK_THROWS_WITH(losses::info_nce(q, k, qg), Catch::Contains("queue [3, 4] requires grad"));
  CHECK_THROWS_WITH(losses::info_nce(q, k.to(DType::f64), queue), Catch::Contains("info_nce"));
}
