// Bad input gets an error that names the op and the shapes (or dtypes, devices, indices).
#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "engine/ops/linalg.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "tests/test_support.h"

using namespace mtmap;
using Catch::Contains;

TEST_CASE("shape mismatches name the op and the shapes", "[errors]") {
  Tensor a = zeros({2, 3}), b = zeros({4});
  CHECK_THROWS_WITH(add(a, b), Contains("add") && Contains("[2, 3]") && Contains("[4]"));
  CHECK_THROWS_WITH(mul(a, zeros({3, 3})), Contains("mul") && Contains("[3, 3]"));
  CHECK_THROWS_WITH(matmul(a, zeros({2, 3})), Contains("matmul") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(matmul(zeros({3}), a), Contains("matmul") && Contains("[3]"));
  CHECK_THROWS_WITH(cat({a, zeros({3, 3})}, 1), Contains("cat") && Contains("[3, 3]"));
  CHECK_THROWS_WITH(stack({a, zeros({3, 2})}, 0), Contains("stack"));
  CHECK_THROWS_WITH(a.reshape({5}), Contains("reshape") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(a.narrow(1, 2, 2), Contains("narrow"));
  CHECK_THROWS_WITH(a.permute({0, 0}), Contains("permute"));
  CHECK_THROWS_WITH(a.expand({3, 3}), Contains("expand"));
  CHECK_THROWS_WITH(sum(a, {2}), Contains("sum") && Contains("axis 2"));
  CHECK_THROWS_WITH(softmax(a, 5), Contains("softmax"));
  CHECK_THROWS_WITH(var(zeros({1, 3}), {0}), Contains("var"));
  CHECK_THROWS_WITH(gather(a, 1, zeros({3, 2}, DType::i64)), Contains("gather") && Contains("[3, 2]"));
  CHECK_THROWS_WITH(where(zeros({2, 3}, DType::f32), a, a), Contains("where") && Contains("u8"));
}

TEST_CASE("dtype mismatches and unsupported dtypes are named", "[errors]") {
  Tensor a = zeros({2}, DType::f32), b = zeros({2}, DType::f64);
  CHECK_THROWS_WITH(add(a, b), Contains("add") && Contains("f32") && Contains("f64"));
  CHECK_THROWS_WITH(exp(zeros({2}, DType::i32)), Contains("i32"));
  CHECK_THROWS_WITH(exp(zeros({2}, DType::bf16)), Contains("bf16") && Contains("cpu"));
  CHECK_THROWS_WITH(index_select(a, 0, zeros({1}, DType::i32)), Contains("i64"));
}

TEST_CASE("out-of-range indices are named", "[errors]") {
  Tensor a = zeros({2, 3}, DType::f64);
  CHECK_THROWS_WITH(index_select(a, 1, from_vector<int64_t>({0, 3}, {2})),
                    Contains("index_select") && Contains("index 3") && Contains("[0, 3)"));
  CHECK_THROWS_WITH(gather(a, 0, from_vector<int64_t>({0, -1, 0}, {1, 3})), Contains("index -1"));
  CHECK_THROWS_WITH(scatter_add(a, 1, from_vector<int64_t>({0, 7, 1}, {1, 3}), ones({1, 3}, DType::f64)),
                    Contains("scatter_add"));
}
