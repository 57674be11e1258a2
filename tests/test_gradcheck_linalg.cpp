// matmul values against a direct loop (a column-major operand, the f32 sgemm path). The float64
// gradient checks (plain, batched, broadcast batches, transposed operands) are generated from
// tests/op_table.cpp.
#include "engine/ops/elementwise.h"
#include "engine/ops/linalg.h"
#include "tests/test_support.h"

using namespace mtmap;

TEST_CASE("matmul values against a direct loop", "[linalg]") {
  Generator g(51);
  Tensor a = randn({2, 5, 7}, g, DType::f64), b = randn({7, 3}, g, DType::f64);
  for (bool transposed : {false, true}) {
    Tensor bb = transposed ? b.transpose(0, 1).contiguous().transpose(0, 1) : b;  // column-major view
    std::vector<double> c = matmul(a, bb).to_vector<double>();
    std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
    for (int n = 0; n < 2; ++n)
      for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 3; ++j) {
          double s = 0;
          for (int k = 0; k < 7; ++k) s += av[size_t((n * 5 + i) * 7 + k)] * bv[size_t(k * 3 + j)];
          CHECK(c[size_t((n * 5 + i) * 3 + j)] == Approx(s).epsilon(1e-12));
        }
  }
  // f32 path through sgemm
  Tensor c32 = matmul(a.to(DType::f32), b.to(DType::f32));
  CHECK(c32.dtype() == DType::f32);
  std::vector<double> ref = matmul(a, b).to_vector<double>();
  std::vector<float> got = c32.to_vector<float>();
  for (size_t i = 0; i < ref.size(); ++i) CHECK(got[i] == Approx(ref[i]).epsilon(1e-5).margin(1e-5));
}
