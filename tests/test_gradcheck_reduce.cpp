// Float64 gradient checks of the reductions and the softmax family, over several axis sets.
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "tests/test_support.h"

using namespace mtmap;
using test::leaf;
using Ts = std::vector<Tensor>;

TEST_CASE("gradcheck sum and mean", "[gradcheck][reduce]") {
  Tensor a = leaf({2, 3, 4}, 31);
  REQUIRE_GRADCHECK("sum_all", [](const Ts& x) { return sum(x[0]); }, {a});
  REQUIRE_GRADCHECK("sum_mid", [](const Ts& x) { return sum(x[0], {1}); }, {a});
  REQUIRE_GRADCHECK("sum_outer_keep", [](const Ts& x) { return sum(x[0], {0, 2}, true); }, {a});
  REQUIRE_GRADCHECK("mean_last", [](const Ts& x) { return mean(x[0], {-1}); }, {a});
  REQUIRE_GRADCHECK("mean_all", [](const Ts& x) { return mean(x[0]); }, {a});
}

TEST_CASE("gradcheck max and min", "[gradcheck][reduce]") {
  Tensor a = leaf({3, 5}, 32);  // continuous random values: no ties
  REQUIRE_GRADCHECK("max_rows", [](const Ts& x) { return max(x[0], {1}); }, {a});
  REQUIRE_GRADCHECK("max_cols_keep", [](const Ts& x) { return max(x[0], {0}, true); }, {a});
  REQUIRE_GRADCHECK("min_all", [](const Ts& x) { return min(x[0], {0, 1}); }, {a});
}

TEST_CASE("gradcheck var and std", "[gradcheck][reduce]") {
  Tensor a = leaf({4, 3, 2}, 33);
  REQUIRE_GRADCHECK("var_unbiased", [](const Ts& x) { return var(x[0], {0}); }, {a});
  REQUIRE_GRADCHECK("var_biased_keep", [](const Ts& x) { return var(x[0], {1, 2}, 0, true); }, {a});
  REQUIRE_GRADCHECK("stddev", [](const Ts& x) { return stddev(x[0], {0, 2}); }, {a});
}

TEST_CASE("gradcheck softmax family and l2 normalize", "[gradcheck][softmax]") {
  Tensor a = leaf({3, 4, 2}, 34, 2.0);
  for (int dim : {0, 1, -1}) {
    REQUIRE_GRADCHECK("softmax", [dim](const Ts& x) { return softmax(x[0], dim); }, {a});
    REQUIRE_GRADCHECK("log_softmax", [dim](const Ts& x) { return log_softmax(x[0], dim); }, {a});
    REQUIRE_GRADCHECK("logsumexp", [dim](const Ts& x) { return logsumexp(x[0], dim); }, {a});
    REQUIRE_GRADCHECK("l2_normalize", [dim](const Ts& x) { return l2_normalize(x[0], dim); }, {a});
  }
  REQUIRE_GRADCHECK("logsumexp_keep", [](const Ts& x) { return logsumexp(x[0], 1, true); }, {a});
}

TEST_CASE("reduction values", "[reduce]") {
  Tensor a = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(sum(a, {1}).to_vector<double>() == std::vector<double>{6, 15});
  CHECK(sum(a, {0}).to_vector<double>() == std::vector<double>{5, 7, 9});
  CHECK(sum(a, {0}, true).shape() == Shape{1, 3});
  CHECK(mean(a).item() == 3.5);
  CHECK(max(a, {0}).to_vector<double>() == std::vector<double>{4, 5, 6});
  CHECK(min(a, {1}).to_vector<double>() == std::vector<double>{1, 4});
  CHECK(var(a, {1}).to_vector<double>() == std::vector<double>{1, 1});
  CHECK(var(a, {1}, 0).to_vector<double>()[0] == Approx(2.0 / 3.0));
  CHECK(stddev(a, {0}).to_vector<double>()[0] == Approx(std::sqrt(4.5)));
  // softmax rows sum to one and logsumexp is stable for large inputs
  Tensor big = from_vector<double>({1000, 1001, 1002}, {1, 3});
  CHECK(sum(softmax(big, 1)).item() == Approx(1.0));
  CHECK(logsumexp(big, 1).item() == Approx(1002 + std::log(1 + std::exp(-1.0) + std::exp(-2.0))));
  // max gradient is shared among ties
  Tensor t = from_vector<double>({2, 2, 1}, {3});
  t.set_requires_grad(true);
  max(t, {0}).backward();
  CHECK(t.grad().to_vector<double>() == std::vector<double>{0.5, 0.5, 0});
}
