#pragma once
// The error measure of the PyTorch parity tests (tests/model/test_torch_parity.cpp,
// tests/training/test_torch_train_step.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "engine/tensor/tensor.h"

namespace mtmap::test {

// max |a − b| relative to max |b| (floored at 1e-6 so an all-zero reference still compares);
// infinite where either side has a value that is not finite (std::max would skip a NaN).
inline double relative_error(const Tensor& a, const Tensor& b) {
  std::vector<double> va = a.to(DType::f64).contiguous().to_vector<double>();
  std::vector<double> vb = b.to(DType::f64).contiguous().to_vector<double>();
  REQUIRE(va.size() == vb.size());
  double diff = 0, scale = 1e-6;
  for (size_t i = 0; i < va.size(); ++i) {
    if (!std::isfinite(va[i]) || !std::isfinite(vb[i])) return HUGE_VAL;
    diff = std::max(diff, std::fabs(va[i] - vb[i]));
    scale = std::max(scale, std::fabs(vb[i]));
  }
  return diff / scale;
}

}  // namespace mtmap::test
