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
  // Every op, both ends: the op, the index, its position and the bound (the CUDA backend reports
  // the same words at its next synchronisation: tests/cuda/test_cuda_index_errors.cpp).
  Tensor idx = from_vector<int64_t>({2, -1}, {2}), big = from_vector<int64_t>({0, 0, 0, 4, 0, 0}, {2, 3});
  CHECK_THROWS_WITH(index_select(a, 1, idx), Contains("index_select: index -1 at position 1 is out of range [0, 3)"));
  CHECK_THROWS_WITH(index_add(a, 1, idx, ones({2, 2}, DType::f64)),
                    Contains("index_add: index -1 at position 1 is out of range [0, 3)"));
  CHECK_THROWS_WITH(gather(a, 1, big), Contains("gather: index 4 at position 3 is out of range [0, 3)"));
  CHECK_THROWS_WITH(scatter_add(a, 1, big, ones({2, 3}, DType::f64)),
                    Contains("scatter_add: index 4 at position 3 is out of range [0, 3)"));
}

TEST_CASE("a strided index is range-checked by its elements, not by its storage", "[errors]") {
  Tensor a = from_vector<double>({1, 2, 3, 4}, {2, 2});
  // [[0, 1, 7], [1, 0, 7]] narrowed to its first two columns: every element in range, though the
  // storage holds a 7 among the first four elements.
  Tensor base = from_vector<int64_t>({0, 1, 7, 1, 0, 7}, {2, 3});
  CHECK(gather(a, 1, base.narrow(1, 0, 2)).to_vector<double>() == std::vector<double>{1, 2, 4, 3});
  // Its middle column [1, 0] (stride 3): the storage from there reads 1, 7.
  CHECK(index_select(a, 1, base.narrow(1, 1, 1).squeeze(1)).to_vector<double>() == std::vector<double>{2, 1, 4, 3});
  // [[0, 9], [1, 0]] transposed: the 9 is at flat position 2 of the index as the op reads it.
  Tensor bad = from_vector<int64_t>({0, 9, 1, 0}, {2, 2}).transpose(0, 1);
  CHECK_THROWS_WITH(gather(a, 1, bad), Contains("gather: index 9 at position 2 is out of range [0, 2)"));
}
