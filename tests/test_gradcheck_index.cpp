// Joining and indexing values. The float64 gradient checks of joining, indexing, the views and
// conversions are generated from tests/op_table.cpp.
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "tests/test_support.h"

using namespace mtmap;

TEST_CASE("index values", "[index]") {
  Tensor a = from_vector<double>({0, 1, 2, 3, 4, 5}, {2, 3});
  CHECK(index_select(a, 1, from_vector<int64_t>({2, 0}, {2})).to_vector<double>() ==
        std::vector<double>{2, 0, 5, 3});
  CHECK(gather(a, 1, from_vector<int64_t>({1, 1, 0, 2}, {2, 2})).to_vector<double>() ==
        std::vector<double>{1, 1, 3, 5});
  CHECK(scatter_add(zeros({2, 3}, DType::f64), 1, from_vector<int64_t>({1, 1, 0, 2}, {2, 2}),
                    from_vector<double>({1, 2, 3, 4}, {2, 2}))
            .to_vector<double>() == std::vector<double>{0, 3, 0, 3, 0, 4});
  CHECK(cat({a, a}, 0).shape() == Shape{4, 3});
  CHECK(stack({a, a, a}, 2).shape() == Shape{2, 3, 3});
  CHECK(stack({a, a}, 0).to_vector<double>()[7] == 1);
}
