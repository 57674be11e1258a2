// Elementwise values: exact results, the fused add_relu, a strided (transposed) input. The float64
// gradient checks of every elementwise op are generated from tests/op_table.cpp.
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "tests/test_support.h"

using namespace mtmap;

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
