#pragma once
// Helpers of the emulator tests: random host buffers in a storage type, poisoning, and the
// |got − want| ≤ atol + rtol·|want| comparison (reporting the first mismatch).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "kernels/common/bf16.h"
#include "kernels/common/dtype.h"

namespace mtmap::emu_test {

template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, BFloat16>)
    return DType::bf16;
  else if constexpr (std::is_same_v<T, float>)
    return DType::f32;
  else
    return DType::f64;
}

template <class T>
double to_double(T v) {
  if constexpr (std::is_same_v<T, BFloat16>)
    return bf16_to_float(v);
  else
    return double(v);
}

template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, BFloat16>)
    return float_to_bf16(float(v));
  else
    return T(v);
}

template <class T>
std::vector<T> random_values(size_t n, uint32_t seed, double lo = -2.0, double hi = 2.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(n);
  for (T& e : v) e = from_double<T>(d(rng));
  return v;
}

template <class T>
std::vector<T> poisoned(size_t n) {
  return std::vector<T>(n, from_double<T>(std::nan("")));
}

template <class A, class B>
void check_close(const std::vector<A>& got, const std::vector<B>& want, double rtol, double atol, const char* what) {
  REQUIRE(got.size() == want.size());
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double g = to_double(got[i]), w = to_double(want[i]);
    bool ok = (std::isnan(g) && std::isnan(w)) || std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (!ok && bad++ == 0) first = i;
  }
  INFO(what << ": " << bad << " of " << got.size() << " differ; first at " << first << ": "
            << (bad ? to_double(got[first]) : 0.0) << " vs " << (bad ? to_double(want[first]) : 0.0));
  CHECK(bad == 0);
}

}  // namespace mtmap::emu_test
