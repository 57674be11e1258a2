// Batch norm (train and eval, with the fused ReLU) and 3D pooling: values, running statistics and
// errors. Their float64 gradient checks are generated from tests/op_table.cpp.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/norm_pool.h"
#include "engine/ops/reduce.h"
#include "tests/test_support.h"

using namespace mtmap;

TEST_CASE("batch_norm values and running statistics", "[batch_norm]") {
  Generator g(410);
  Tensor x = add(mul(randn({4, 3, 2, 2, 2}, g, DType::f64), 3.0), 2.0);
  Tensor w = ones({3}, DType::f64), b = zeros({3}, DType::f64);
  Tensor rm = zeros({3}, DType::f64), rv = ones({3}, DType::f64);
  BatchNormOptions o;
  Tensor y = batch_norm(x, w, b, rm, rv, o);
  // Per channel the output has mean 0 and (biased) variance 1 − eps/(var + eps) ≈ 1.
  std::vector<double> m = mean(y, {0, 2, 3, 4}).to_vector<double>();
  std::vector<double> v = var(y, {0, 2, 3, 4}, 0).to_vector<double>();
  for (int c = 0; c < 3; ++c) {
    CHECK(m[size_t(c)] == Approx(0).margin(1e-12));
    CHECK(v[size_t(c)] == Approx(1).epsilon(1e-5));
  }
  // Running statistics moved 10% toward the batch's mean and unbiased variance.
  std::vector<double> bm = mean(x, {0, 2, 3, 4}).to_vector<double>();
  std::vector<double> bv = var(x, {0, 2, 3, 4}, 1).to_vector<double>();
  for (int c = 0; c < 3; ++c) {
    CHECK(rm.to_vector<double>()[size_t(c)] == Approx(0.1 * bm[size_t(c)]));
    CHECK(rv.to_vector<double>()[size_t(c)] == Approx(0.9 + 0.1 * bv[size_t(c)]));
  }
  // Eval mode uses the running statistics and leaves them alone.
  o.training = false;
  std::vector<double> before = rm.to_vector<double>();
  Tensor ye = batch_norm(x, w, b, rm, rv, o);
  CHECK(rm.to_vector<double>() == before);
  double expect = (x.to_vector<double>()[0] - before[0]) / std::sqrt(rv.to_vector<double>()[0] + 1e-5);
  CHECK(ye.to_vector<double>()[0] == Approx(expect));
  // The fused ReLU equals relu(batch_norm(·)).
  o.relu = true;
  CHECK(batch_norm(x, w, b, rm, rv, o).to_vector<double>() == relu(ye).to_vector<double>());
  CHECK_THROWS_WITH(batch_norm(x, ones({4}, DType::f64), b, rm, rv, o), Catch::Contains("weight") && Catch::Contains("[4]"));
}

TEST_CASE("pooling values", "[pool]") {
  Tensor x = arange(2 * 4 * 4, DType::f64).reshape({1, 1, 2, 4, 4});
  Pool3dOptions o;
  o.kernel = {2, 2, 2};
  o.stride = {2, 2, 2};
  CHECK(max_pool3d(x, o).to_vector<double>() == std::vector<double>{21, 23, 29, 31});
  Tensor g = adaptive_avg_pool3d(x, {1, 1, 1});
  CHECK(g.item() == Approx(15.5));
  Generator gen(430);
  Tensor r = randn({2, 3, 3, 5, 7}, gen, DType::f64);
  std::vector<double> a = adaptive_avg_pool3d(r, {1, 1, 1}).to_vector<double>();
  std::vector<double> m = mean(r, {2, 3, 4}).to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(m[i]).epsilon(1e-12));
  CHECK_THROWS_WITH(max_pool3d(zeros({1, 1, 4, 4}), o), Catch::Contains("(N, C, D, H, W)"));
}

TEST_CASE("ReLU passes NaN through, alone, after an add and fused into batch norm (as PyTorch does)",
          "[batch_norm][relu]") {
  const double nan = std::nan("");
  for (DType t : {DType::f32, DType::f64}) {
    Tensor x = from_vector<double>({nan, -1.0, -0.0, 2.0}, {4}).to(t);
    const std::vector<double> r = relu(x).to(DType::f64).to_vector<double>();
    CHECK(std::isnan(r[0]));
    CHECK(r[1] == 0);
    CHECK(!std::signbit(r[2]));  // −0 becomes +0
    CHECK(r[3] == 2);
    const std::vector<double> a = add_relu(x, zeros({4}, t)).to(DType::f64).to_vector<double>();
    CHECK(std::isnan(a[0]));
    CHECK(a[1] == 0);
    CHECK(a[3] == 2);
  }
  // A NaN in one channel's batch makes that channel's statistics NaN: its fused ReLU output is NaN,
  // not the 0 a `v > 0 ? v : 0` would give; the other channel is untouched.
  Tensor x = zeros({2, 2, 1, 1, 2}, DType::f64);
  x.data<double>()[0] = nan;
  x.data<double>()[2] = 1.0;
  Tensor w = ones({2}, DType::f64), b = zeros({2}, DType::f64), rm = zeros({2}, DType::f64), rv = ones({2}, DType::f64);
  BatchNormOptions o;
  o.relu = true;
  const std::vector<double> y = batch_norm(x, w, b, rm, rv, o).to_vector<double>();
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 2; ++i) {
      CHECK(std::isnan(y[size_t(n * 4 + i)]));           // channel 0
      CHECK(std::isfinite(y[size_t(n * 4 + 2 + i)]));    // channel 1
    }
}
