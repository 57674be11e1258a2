// Reduction and softmax values: exact sums and moments, stability for large logits, ties in max.
// The float64 gradient checks (several axis sets) are generated from tests/op_table.cpp.
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "tests/test_support.h"

using namespace mtmap;

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
