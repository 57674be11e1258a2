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

// Doubles into the storage type T (rounded once).
template <class T>
std::vector<T> to_storage(const std::vector<double>& v) {
  std::vector<T> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = from_double<T>(v[i]);
  return out;
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

// Multiples of 1/8 in [-1, 1]: exact in bf16 and TF32, with every product and partial sum of a
// convolution's size exact in f32, so GPU results can be compared with float64 loops bit for bit.
inline std::vector<double> random_eighths(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-8, 8);
  std::vector<double> v(n);
  for (double& e : v) e = d(rng) / 8.0;
  return v;
}

// [B][C][X] → [B][X][C].
inline std::vector<double> channels_last(const std::vector<double>& v, int64_t B, int64_t C, int64_t X) {
  std::vector<double> out(v.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t x = 0; x < X; ++x) out[size_t((b * X + x) * C + c)] = v[size_t((b * C + c) * X + x)];
  return out;
}

// The CPU kernels that have no bf16 form are the reference for bf16 through f32: Ref<T> is the type
// a reference runs in, convert() moves values between the two (rounding once into bf16).
template <class T>
using Ref = std::conditional_t<std::is_same_v<T, BFloat16>, float, T>;
template <class To, class From>
std::vector<To> convert(const std::vector<From>& v) {
  std::vector<To> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = from_double<To>(to_double(v[i]));
  return out;
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
