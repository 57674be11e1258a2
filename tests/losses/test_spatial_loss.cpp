// The spatial-correlation loss: values against a direct computation, zero gradient outside the
// window, dead units, the planted-covariance values, errors. The float64 gradient checks (both
// forms, directly and through the block gather) are generated from tests/op_table.cpp.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/ops/elementwise.h"
#include "losses/spatial_loss.h"
#include "tests/test_support.h"

using namespace mtmap;
using losses::SpatialLossForm;

namespace {

// The loss straight from docs/model.md §5, in plain loops.
double direct_loss(const std::vector<double>& x, int64_t B, int64_t M, const std::vector<double>& target,
                   SpatialLossForm form) {
  std::vector<double> z(x.size());
  for (int64_t j = 0; j < M; ++j) {
    double m = 0, ss = 0;
    for (int64_t b = 0; b < B; ++b) m += x[size_t(b * M + j)];
    m /= double(B);
    for (int64_t b = 0; b < B; ++b) ss += (x[size_t(b * M + j)] - m) * (x[size_t(b * M + j)] - m);
    double sd = std::sqrt(ss / double(B - 1));
    if (sd == 0) sd = 1;
    for (int64_t b = 0; b < B; ++b) z[size_t(b * M + j)] = (x[size_t(b * M + j)] - m) / sd;
  }
  std::vector<double> v, u;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < i; ++j) {
      double r = 0;
      for (int64_t b = 0; b < B; ++b) r += z[size_t(b * M + i)] * z[size_t(b * M + j)];
      v.push_back(std::clamp(r / double(B - 1), -1.0, 1.0));
      u.push_back(target[size_t(i * M + j)]);
    }
  const double n = double(v.size());
  if (form == SpatialLossForm::absolute) {
    double s = 0;
    for (size_t p = 0; p < v.size(); ++p) s += std::abs(v[p] - u[p]);
    return s / n;
  }
  double mv = std::accumulate(v.begin(), v.end(), 0.0) / n, mu = std::accumulate(u.begin(), u.end(), 0.0) / n;
  double c = 0, vv = 0, uu = 0;
  for (size_t p = 0; p < v.size(); ++p)
    c += (v[p] - mv) * (u[p] - mu), vv += (v[p] - mv) * (v[p] - mv), uu += (u[p] - mu) * (u[p] - mu);
  return (1 - c / std::sqrt(vv * uu)) / 2;
}

Tensor random_positions(int64_t M, uint64_t seed, double side) {
  Generator gen(seed);
  return mul(rand({M, 2}, gen, DType::f64), side);
}

// Lower Cholesky factor of a symmetric positive-definite (M, M) matrix.
std::vector<double> cholesky(const std::vector<double>& a, int64_t M) {
  std::vector<double> l(size_t(M * M), 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = a[size_t(i * M + j)];
      for (int64_t k = 0; k < j; ++k) s -= l[size_t(i * M + k)] * l[size_t(j * M + k)];
      if (i == j) {
        REQUIRE(s > 0);
        l[size_t(i * M + i)] = std::sqrt(s);
      } else {
        l[size_t(i * M + j)] = s / l[size_t(j * M + j)];
      }
    }
  return l;
}

// B samples with covariance exactly `cov`: X = Z·Lᵀ, Z standard normal.
Tensor correlated_samples(const std::vector<double>& cov, int64_t M, int64_t B, uint64_t seed) {
  std::vector<double> l = cholesky(cov, M);
  Generator gen(seed);
  std::vector<double> z = randn({B, M}, gen, DType::f64).to_vector<double>(), x(size_t(B * M), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k <= i; ++k) x[size_t(b * M + i)] += z[size_t(b * M + k)] * l[size_t(i * M + k)];
  return from_vector(x, {B, M});
}

}  // namespace

TEST_CASE("spatial_loss: units outside the window get exactly zero gradient through the block gather") {
  // block (N, C, T, H, W) = (5, 2, 3, 2, 3): U = 12 units; the window takes 6 of them, out of order.
  Tensor positions = random_positions(12, 42, 2.0);
  Tensor window = from_vector(std::vector<int64_t>{7, 0, 11, 3, 5, 8}, {6});
  Tensor b2 = test::leaf({5, 2, 3, 2, 3}, 43);
  losses::block_spatial_loss(b2, window, positions).backward();
  std::vector<double> g = b2.grad().to_vector<double>();
  for (int64_t n = 0; n < 5; ++n)
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t t = 0; t < 3; ++t)
        for (int64_t hw = 0; hw < 6; ++hw) {
          int64_t u = c * 6 + hw;
          bool inside = u == 7 || u == 0 || u == 11 || u == 3 || u == 5 || u == 8;
          if (!inside) CHECK(g[size_t((((n * 2 + c) * 3 + t) * 6) + hw)] == 0.0);
        }
}

TEST_CASE("spatial_loss: values match the direct computation of docs/model.md §5") {
  Tensor pos = random_positions(9, 51, 4.0);
  Tensor target = losses::inverse_distance(pos);
  std::vector<double> tv = target.to_vector<double>();
  std::vector<double> pv = pos.to_vector<double>();
  CHECK(tv[size_t(1 * 9 + 0)] == Approx(1.0 / (std::hypot(pv[2] - pv[0], pv[3] - pv[1]) + 1.0)).epsilon(1e-14));
  for (SpatialLossForm form : {SpatialLossForm::relative, SpatialLossForm::absolute})
    for (int64_t B : {2, 3, 16}) {
      Tensor x = test::leaf({B, 9}, uint64_t(60 + B)).detach();
      double want = direct_loss(x.to_vector<double>(), B, 9, tv, form);
      CHECK(losses::spatial_loss(x, target, form).item() == Approx(want).epsilon(1e-12));
      CHECK(losses::spatial_loss(x.to(DType::f32), target.to(DType::f32), form).item() == Approx(want).epsilon(2e-5));
    }
}

TEST_CASE("spatial_loss: a dead unit correlates 0 and gets zero gradient") {
  Tensor target = losses::inverse_distance(random_positions(5, 71, 2.0));
  std::vector<double> xv = test::leaf({8, 5}, 72).to_vector<double>();
  for (int64_t b = 0; b < 8; ++b) xv[size_t(b * 5 + 2)] = 0.7;  // unit 2 constant
  Tensor x = from_vector(xv, {8, 5});
  x.set_requires_grad(true);
  Tensor loss = losses::spatial_loss(x, target);
  CHECK(std::isfinite(loss.item()));
  CHECK(loss.item() ==
        Approx(direct_loss(xv, 8, 5, target.to_vector<double>(), SpatialLossForm::relative)).epsilon(1e-12));
  loss.backward();
  std::vector<double> g = x.grad().to_vector<double>();
  double other = 0;
  for (int64_t b = 0; b < 8; ++b) {
    CHECK(g[size_t(b * 5 + 2)] == 0.0);
    other += std::abs(g[size_t(b * 5 + 1)]);
  }
  CHECK(other > 0);
}

TEST_CASE("spatial_loss: responses with covariance 1/(d+1) give a loss near 0 that shrinks with B, shuffled ~0.5") {
  const int64_t M = 100;
  Tensor pos = random_positions(M, 81, 5.0);  // 100 units uniform on a 5 mm square
  Tensor target = losses::inverse_distance(pos);
  std::vector<double> cov = target.to_vector<double>();
  double l256 = 0, l4096 = 0;
  for (uint64_t rep = 0; rep < 3; ++rep) {
    l256 += losses::spatial_loss(correlated_samples(cov, M, 256, 90 + rep), target).item() / 3;
    l4096 += losses::spatial_loss(correlated_samples(cov, M, 4096, 95 + rep), target).item() / 3;
  }
  INFO("loss at B = 256: " << l256 << ", at B = 4096: " << l4096);
  // The reference values: about 0.03 at B = 256 and 0.002 at B = 4096 (sampling noise of R
  // shrinks as 1/B); measured here 0.034 and 0.0023 (mean of 3 draws).
  CHECK(l256 > 0.02);
  CHECK(l256 < 0.05);
  CHECK(l4096 > 0.001);
  CHECK(l4096 < 0.004);
  CHECK(l4096 < l256 / 8);
  // Same responses, positions shuffled among the units: no relation left.
  Generator gen(99);
  Tensor perm = randperm(M, gen);
  std::vector<int64_t> pi = perm.to_vector<int64_t>();
  std::vector<double> p = pos.to_vector<double>(), shuffled(p.size());
  for (int64_t i = 0; i < M; ++i)
    shuffled[size_t(2 * i)] = p[size_t(2 * pi[size_t(i)])],
                        shuffled[size_t(2 * i + 1)] = p[size_t(2 * pi[size_t(i)] + 1)];
  Tensor t_shuffled = losses::inverse_distance(from_vector(shuffled, {M, 2}));
  double ls = losses::spatial_loss(correlated_samples(cov, M, 4096, 98), t_shuffled).item();
  INFO("shuffled: " << ls);
  CHECK(ls > 0.4);
  CHECK(ls < 0.6);
}

TEST_CASE("spatial_loss: bad input names the culprit") {
  Tensor target = zeros({4, 4});
  CHECK_THROWS_WITH(losses::spatial_loss(zeros({1, 4}), target), Catch::Contains("responses [1, 4]"));
  CHECK_THROWS_WITH(losses::spatial_loss(zeros({3, 4}), zeros({4, 5})), Catch::Contains("target [4, 5]"));
  CHECK_THROWS_WITH(losses::block_spatial_loss(zeros({2, 3, 4}), zeros({2}, DType::i64), zeros({3, 2})),
                    Catch::Contains("block output [2, 3, 4]"));
  CHECK_THROWS_WITH(losses::block_spatial_loss(zeros({2, 1, 1, 2, 2}), zeros({3}, DType::i64), zeros({5, 2})),
                    Catch::Contains("positions [5, 2]"));
  CHECK_THROWS_WITH(losses::block_spatial_loss(zeros({2, 1, 1, 2, 2}), zeros({3}), zeros({4, 2})),
                    Catch::Contains("window [3]"));
  CHECK_THROWS_WITH(losses::parse_spatial_loss_form("relatve"), Catch::Contains("'relatve'"));
}
