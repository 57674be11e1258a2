// Swap optimisation on a planted problem, and the response correlation it starts from.
#include <algorithm>
#include <cmath>

#include "engine/ops/elementwise.h"
#include "cortex/swap.h"
#include "tests/test_support.h"

using namespace mtmap;

namespace {

// Indices of the k nearest other units of each unit.
std::vector<std::vector<int64_t>> nearest(const std::vector<double>& xy, int64_t U, int k) {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(U));
  for (int64_t i = 0; i < U; ++i) {
    std::vector<std::pair<double, int64_t>> d;
    for (int64_t j = 0; j < U; ++j)
      if (j != i)
        d.push_back(
            {std::hypot(xy[size_t(2 * i)] - xy[size_t(2 * j)], xy[size_t(2 * i + 1)] - xy[size_t(2 * j + 1)]), j});
    std::partial_sort(d.begin(), d.begin() + k, d.end());
    for (int t = 0; t < k; ++t) out[size_t(i)].push_back(d[size_t(t)].second);
  }
  return out;
}

double neighbours_recovered(const std::vector<std::vector<int64_t>>& truth, const std::vector<double>& xy, int64_t U,
                            int k) {
  auto got = nearest(xy, U, k);
  int64_t hit = 0;
  for (int64_t i = 0; i < U; ++i)
    for (int64_t j : got[size_t(i)]) hit += std::count(truth[size_t(i)].begin(), truth[size_t(i)].end(), j);
  return double(hit) / double(U * k);
}

}  // namespace

TEST_CASE("swap: response_correlation is Pearson over stimuli, constant units correlate 0") {
  std::vector<double> r{1, 2, 5, 2, 4, 5, 3, 6, 5, 4, 8, 5};  // (S = 4, U = 3): u1 = 2·u0, u2 constant
  Tensor c = cortex::response_correlation(from_vector(r, {4, 3}));
  std::vector<float> v = c.to_vector<float>();
  CHECK(v[0 * 3 + 1] == Approx(1.0));
  CHECK(v[1 * 3 + 0] == Approx(1.0));
  CHECK(v[0 * 3 + 2] == 0.0f);
  CHECK(v[2 * 3 + 2] == 0.0f);
  CHECK_THROWS_WITH(cortex::response_correlation(zeros({1, 3})), Catch::Contains("responses [1, 3]"));
}

TEST_CASE("swap: a planted layout is recovered from scrambled positions, the loss falling monotonically") {
  // Hidden layout: 24×24 jittered grid on a 12 mm sheet; correlations = 1/(d + 1) + small symmetric noise.
  const int64_t G = 24, U = G * G;
  Generator gen(3);
  std::vector<double> jit = randn({U, 2}, gen, DType::f64).to_vector<double>(), truth(size_t(2 * U));
  for (int64_t i = 0; i < U; ++i) {
    truth[size_t(2 * i)] = 0.5 * double(i % G) + 0.1 * jit[size_t(2 * i)];
    truth[size_t(2 * i + 1)] = 0.5 * double(i / G) + 0.1 * jit[size_t(2 * i + 1)];
  }
  std::vector<double> noise = randn({U, U}, gen, DType::f64).to_vector<double>(), corr(size_t(U * U));
  for (int64_t i = 0; i < U; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double d =
          std::hypot(truth[size_t(2 * i)] - truth[size_t(2 * j)], truth[size_t(2 * i + 1)] - truth[size_t(2 * j + 1)]);
      corr[size_t(i * U + j)] = corr[size_t(j * U + i)] =
          i == j ? 1.0 : 1.0 / (d + 1) + 0.02 * noise[size_t(i * U + j)];
    }
  Tensor c = from_vector(corr, {U, U}, DType::f32);
  std::vector<int64_t> perm = randperm(U, gen).to_vector<int64_t>();
  std::vector<double> scrambled(static_cast<size_t>(2 * U));
  for (int64_t i = 0; i < U; ++i)
    scrambled[size_t(2 * i)] = truth[size_t(2 * perm[size_t(i)])],
                         scrambled[size_t(2 * i + 1)] = truth[size_t(2 * perm[size_t(i)] + 1)];
  Tensor pos = from_vector(scrambled, {U, 2});
  const int k = 4;
  auto true_nn = nearest(truth, U, k);
  const double recovered0 = neighbours_recovered(true_nn, scrambled, U, k);
  const double truth_loss = cortex::layer_spatial_loss(from_vector(truth, {U, 2}), c);
  double loss = cortex::layer_spatial_loss(pos, c);
  INFO("scrambled loss " << loss << ", planted " << truth_loss << ", recovered at start " << recovered0);
  CHECK(loss > 0.4);
  cortex::SwapOptions o;
  o.width_mm = 3.0;  // ~36 units per window
  o.windows = 1500;
  o.attempts_per_window = 300;
  int64_t progress_calls = 0;
  o.progress_every = 500;
  o.progress = [&](const cortex::SwapProgress& p) {
    ++progress_calls;
    CHECK(p.windows_done <= p.windows_total);
    CHECK(p.attempts > 0);
  };
  int64_t accepted = 0;
  for (uint64_t round = 0; round < 6; ++round) {
    o.seed = 100 + round;
    cortex::SwapResult r = cortex::swap_optimise(pos, c, o);
    CHECK(r.stats.attempts == o.windows * o.attempts_per_window - r.stats.windows_skipped * o.attempts_per_window);
    accepted += r.stats.accepted;
    double next = cortex::layer_spatial_loss(r.positions, c);
    INFO("round " << round << ": loss " << next);
    CHECK(next < loss);
    loss = next;
    pos = r.positions;
  }
  CHECK(progress_calls == 6 * 3);
  CHECK(accepted > 0);
  // Positions are only permuted: the same multiset of coordinates.
  std::vector<double> a = pos.to_vector<double>(), b = scrambled;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  CHECK(a == b);
  const double recovered = neighbours_recovered(true_nn, pos.to_vector<double>(), U, k);
  INFO("final loss " << loss << " (planted " << truth_loss << "), nearest neighbours recovered " << recovered
                     << " (at start " << recovered0 << ")");
  CHECK(loss < 0.5 * (0.5 + truth_loss));
  CHECK(recovered > 0.3);
  CHECK(recovered > 10 * recovered0);
}

TEST_CASE("swap: the result does not depend on the thread count") {
  Generator gen(8);
  const int64_t U = 400;
  Tensor pos = mul(rand({U, 2}, gen, DType::f64), 8.0);
  Tensor c = cortex::response_correlation(randn({30, U}, gen, DType::f64));
  cortex::SwapOptions o;
  o.width_mm = 2.0;
  o.windows = 200;
  o.attempts_per_window = 50;
  o.seed = 4;
  o.threads = 1;
  cortex::SwapResult one = cortex::swap_optimise(pos, c, o);
  o.threads = 4;
  cortex::SwapResult four = cortex::swap_optimise(pos, c, o);
  CHECK(one.positions.to_vector<double>() == four.positions.to_vector<double>());
  CHECK(one.stats.accepted == four.stats.accepted);
  CHECK_THROWS_WITH(cortex::swap_optimise(pos, zeros({3, 3}), o), Catch::Contains("corr [3, 3]"));
}
