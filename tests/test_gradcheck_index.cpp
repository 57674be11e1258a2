// Joining, indexing, views and conversions: gradient checks and values.
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "tests/test_support.h"

using namespace mtmap;
using test::leaf;
using Ts = std::vector<Tensor>;

TEST_CASE("gradcheck cat and stack", "[gradcheck][index]") {
  Tensor a = leaf({2, 3}, 61), b = leaf({2, 1}, 62), c = leaf({2, 2}, 63);
  REQUIRE_GRADCHECK("cat_dim1", [](const Ts& x) { return cat(x, 1); }, {a, b, c});
  REQUIRE_GRADCHECK("cat_dim0", [](const Ts& x) { return cat(x, 0); }, {a, leaf({1, 3}, 64)});
  REQUIRE_GRADCHECK("stack", [](const Ts& x) { return stack(x, 1); }, {a, leaf({2, 3}, 65)});
}

TEST_CASE("gradcheck index_select and index_add", "[gradcheck][index]") {
  Tensor a = leaf({3, 4, 2}, 66);
  Tensor idx = from_vector<int64_t>({3, 0, 3, 1, 3}, {5});  // repeats: gradients accumulate
  REQUIRE_GRADCHECK("index_select", [idx](const Ts& x) { return index_select(x[0], 1, idx); }, {a});
  Tensor src = leaf({3, 5, 2}, 67);
  REQUIRE_GRADCHECK("index_add", [idx](const Ts& x) { return index_add(x[0], 1, idx, x[1]); }, {a, src});
}

TEST_CASE("gradcheck gather and scatter_add", "[gradcheck][index]") {
  Tensor a = leaf({3, 4}, 68);
  Tensor idx = from_vector<int64_t>({0, 3, 3, 1, 2, 2, 0, 0, 1}, {3, 3});
  REQUIRE_GRADCHECK("gather_dim1", [idx](const Ts& x) { return gather(x[0], 1, idx); }, {a});
  Tensor idx0 = from_vector<int64_t>({2, 0, 1, 1, 0, 2, 2, 2}, {2, 4});
  REQUIRE_GRADCHECK("gather_dim0", [idx0](const Ts& x) { return gather(x[0], 0, idx0); }, {a});
  Tensor src = leaf({3, 3}, 69);
  REQUIRE_GRADCHECK("scatter_add", [idx](const Ts& x) { return scatter_add(x[0], 1, idx, x[1]); }, {a, src});
}

TEST_CASE("gradcheck views and conversions", "[gradcheck][views]") {
  Tensor a = leaf({2, 3, 4}, 70);
  REQUIRE_GRADCHECK("reshape", [](const Ts& x) { return x[0].reshape({4, -1}); }, {a});
  REQUIRE_GRADCHECK("permute", [](const Ts& x) { return x[0].permute({2, 0, 1}); }, {a});
  REQUIRE_GRADCHECK("transpose_contiguous", [](const Ts& x) { return x[0].transpose(0, 2).contiguous(); }, {a});
  REQUIRE_GRADCHECK("narrow", [](const Ts& x) { return x[0].narrow(2, 1, 2); }, {a});
  REQUIRE_GRADCHECK("expand", [](const Ts& x) { return x[0].expand({2, 2, 3, 4}); }, {a});
  REQUIRE_GRADCHECK("unsqueeze_squeeze", [](const Ts& x) { return x[0].unsqueeze(1).squeeze(1); }, {a});
  // A round trip through f32 loses precision: check with the precision f32 allows.
  autograd::GradcheckOptions loose;
  loose.eps = 1e-2;
  loose.rtol = 1e-3;
  loose.atol = 1e-5;
  REQUIRE_GRADCHECK("to_f32_and_back", [](const Ts& x) { return mul(x[0].to(DType::f32), 2.0).to(DType::f64); }, {a},
                    loose);
}

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
