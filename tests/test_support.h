#pragma once
// Helpers shared by the engine tests.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "engine/autograd/gradcheck.h"
#include "engine/random/generator.h"
#include "engine/tensor/tensor.h"

namespace mtmap::test {

// A float64 leaf with N(0,1) entries that requires grad.
inline Tensor leaf(const Shape& shape, uint64_t seed, double scale = 1.0, double shift = 0.0) {
  Generator gen(seed);
  std::vector<double> v = randn(shape, gen, DType::f64).to_vector<double>();
  for (double& x : v) x = x * scale + shift;
  Tensor t = from_vector(v, shape, DType::f64);
  t.set_requires_grad(true);
  return t;
}

// A float64 leaf with entries uniform in [lo, hi).
inline Tensor uniform_leaf(const Shape& shape, uint64_t seed, double lo, double hi) {
  Generator gen(seed);
  std::vector<double> v = rand(shape, gen, DType::f64).to_vector<double>();
  for (double& x : v) x = lo + (hi - lo) * x;
  Tensor t = from_vector(v, shape, DType::f64);
  t.set_requires_grad(true);
  return t;
}

}  // namespace mtmap::test

// Runs the float64 gradient check and fails with its report.
#define REQUIRE_GRADCHECK(name, fn, ...)                                                       \
  do {                                                                                         \
    auto gc_result_ = ::mtmap::autograd::gradcheck(name, fn, __VA_ARGS__);                     \
    INFO(gc_result_.report);                                                                   \
    REQUIRE(gc_result_.ok);                                                                    \
    REQUIRE(gc_result_.checked > 0);                                                           \
  } while (0)
