#pragma once
// Calls f(T{}) with the C++ type of a dtype. Kernels pick which dtypes they accept.
#include <stdexcept>
#include <string>

#include "kernels/common/bf16.h"
#include "kernels/common/dtype.h"

namespace mtmap::cpu {

[[noreturn]] inline void unsupported(const char* kernel, DType t) {
  throw std::invalid_argument(std::string("cpu kernel ") + kernel + ": dtype " + dtype_name(t) + " not supported");
}

template <class F>
void float_switch(const char* kernel, DType t, F&& f) {
  switch (t) {
    case DType::f32: f(float{}); return;
    case DType::f64: f(double{}); return;
    default: unsupported(kernel, t);
  }
}

template <class F>
void any_switch(DType t, F&& f) {
  switch (t) {
    case DType::f32: f(float{}); return;
    case DType::f64: f(double{}); return;
    case DType::bf16: f(BFloat16{}); return;
    case DType::i32: f(int32_t{}); return;
    case DType::i64: f(int64_t{}); return;
    case DType::u8: f(uint8_t{}); return;
  }
}

// Conversions through double (exact for every value of every type here except bf16, which is
// rounded to nearest even from float).
template <class T>
inline double to_double(T v) { return double(v); }
template <>
inline double to_double<BFloat16>(BFloat16 v) { return double(bf16_to_float(v)); }

template <class T>
inline T from_double(double v) { return T(v); }
template <>
inline BFloat16 from_double<BFloat16>(double v) { return float_to_bf16(float(v)); }

}  // namespace mtmap::cpu
