// Float64 gradient checks of every elementwise op, with broadcasting on every binary op.
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "tests/test_support.h"

using namespace mtmap;
using test::leaf;
using test::uniform_leaf;
using Ts = std::vector<Tensor>;

TEST_CASE("gradcheck binary ops with broadcasting", "[gradcheck][elementwise]") {
  // a (3, 1, 4) against b (2, 4): both broadcast, so sum_to_shape runs in both directions.
  Tensor a = leaf({3, 1, 4}, 1), b = leaf({2, 4}, 2);
  REQUIRE_GRADCHECK("add", [](const Ts& x) { return add(x[0], x[1]); }, {a, b});
  REQUIRE_GRADCHECK("sub", [](const Ts& x) { return sub(x[0], x[1]); }, {a, b});
  REQUIRE_GRADCHECK("mul", [](const Ts& x) { return mul(x[0], x[1]); }, {a, b});
  Tensor denom = uniform_leaf({2, 4}, 3, 0.5, 2.0);  // away from 0
  REQUIRE_GRADCHECK("div", [](const Ts& x) { return div(x[0], x[1]); }, {a, denom});
  Tensor base = uniform_leaf({3, 1, 4}, 4, 0.5, 2.0);  // positive: log(a) in b's gradient
  Tensor expo = uniform_leaf({2, 4}, 5, -1.5, 1.5);
  REQUIRE_GRADCHECK("pow", [](const Ts& x) { return pow(x[0], x[1]); }, {base, expo});
  // maximum/minimum: distinct values so no element sits on the kink.
  Tensor c = leaf({2, 3}, 6), d = leaf({2, 3}, 7);
  REQUIRE_GRADCHECK("maximum", [](const Ts& x) { return maximum(x[0], x[1]); }, {c, d});
  REQUIRE_GRADCHECK("minimum", [](const Ts& x) { return minimum(x[0], x[1]); }, {c, d});
  REQUIRE_GRADCHECK("add_relu", [](const Ts& x) { return add_relu(x[0], x[1]); }, {a, b});
}

TEST_CASE("gradcheck scalar and unary ops", "[gradcheck][elementwise]") {
  Tensor a = leaf({2, 3, 2}, 11);
  Tensor pos = uniform_leaf({2, 3, 2}, 12, 0.3, 3.0);
  REQUIRE_GRADCHECK("add_scalar", [](const Ts& x) { return add(x[0], 1.5); }, {a});
  REQUIRE_GRADCHECK("sub_scalar", [](const Ts& x) { return sub(x[0], 0.25); }, {a});
  REQUIRE_GRADCHECK("mul_scalar", [](const Ts& x) { return mul(x[0], -2.5); }, {a});
  REQUIRE_GRADCHECK("div_scalar", [](const Ts& x) { return div(x[0], 4.0); }, {a});
  REQUIRE_GRADCHECK("rsub", [](const Ts& x) { return rsub(3.0, x[0]); }, {a});
  REQUIRE_GRADCHECK("rdiv", [](const Ts& x) { return rdiv(2.0, x[0]); }, {pos});
  REQUIRE_GRADCHECK("neg", [](const Ts& x) { return neg(x[0]); }, {a});
  REQUIRE_GRADCHECK("exp", [](const Ts& x) { return exp(x[0]); }, {a});
  REQUIRE_GRADCHECK("log", [](const Ts& x) { return log(x[0]); }, {pos});
  REQUIRE_GRADCHECK("sqrt", [](const Ts& x) { return sqrt(x[0]); }, {pos});
  REQUIRE_GRADCHECK("pow_scalar", [](const Ts& x) { return pow(x[0], 2.7); }, {pos});
  REQUIRE_GRADCHECK("pow_scalar_int", [](const Ts& x) { return pow(x[0], 3.0); }, {a});
  // relu/abs/clamp are piecewise: keep every element at least 0.05 from a kink.
  Tensor away = uniform_leaf({4, 5}, 13, 0.05, 1.0);
  Generator g(14);
  Tensor flip = gt(rand({4, 5}, g, DType::f64), 0.5);
  Tensor signed_away = where(flip, away.detach(), neg(away.detach())).detach();
  signed_away.set_requires_grad(true);
  REQUIRE_GRADCHECK("relu", [](const Ts& x) { return relu(x[0]); }, {signed_away});
  REQUIRE_GRADCHECK("abs", [](const Ts& x) { return abs(x[0]); }, {signed_away});
  REQUIRE_GRADCHECK("clamp", [](const Ts& x) { return clamp(x[0], -0.5, 0.5); },
                    {mul(signed_away.detach(), 1.7).detach().set_requires_grad(true)});
  REQUIRE_GRADCHECK("sign", [](const Ts& x) { return mul(sign(x[0]), x[0]); }, {signed_away});
}

TEST_CASE("gradcheck where", "[gradcheck][elementwise]") {
  Tensor a = leaf({3, 4}, 21), b = leaf({4}, 22);  // b broadcasts
  Generator g(23);
  Tensor cond = gt(rand({3, 4}, g, DType::f64), 0.5);
  REQUIRE_GRADCHECK("where", [cond](const Ts& x) { return where(cond, x[0], x[1]); }, {a, b});
}

TEST_CASE("elementwise values", "[elementwise]") {
  Tensor a = from_vector<double>({1, -2, 3, -4}, {2, 2});
  Tensor b = from_vector<double>({10, 20}, {2});
  CHECK(add(a, b).to_vector<double>() == std::vector<double>{11, 18, 13, 16});
  CHECK(mul(a, b).to_vector<double>() == std::vector<double>{10, -40, 30, -80});
  CHECK(relu(a).to_vector<double>() == std::vector<double>{1, 0, 3, 0});
  CHECK(add_relu(a, b).to_vector<double>() == relu(add(a, b)).to_vector<double>());
  CHECK(abs(a).to_vector<double>() == std::vector<double>{1, 2, 3, 4});
  CHECK(clamp(a, -1, 2).to_vector<double>() == std::vector<double>{1, -1, 2, -1});
  CHECK(gt(a, 0.0).to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 1, 0});
  CHECK(sign(a).to_vector<double>() == std::vector<double>{1, -1, 1, -1});
  CHECK(rdiv(4.0, from_vector<double>({2, 8}, {2})).to_vector<double>() == std::vector<double>{2, 0.5});
  // strided input (a transposed view) through the strided kernel path
  CHECK(neg(a.transpose(0, 1)).to_vector<double>() == std::vector<double>{-1, -3, 2, 4});
}
