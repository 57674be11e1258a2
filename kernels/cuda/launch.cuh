#pragma once
// Shared plumbing of the CUDA launchers (not a public header): launch checks, grid sizing, the
// storage-type → compute-type mapping and the dtype switches. Kernels are leaves: this file
// includes nothing from engine/, so errors are std exceptions the engine wraps or passes on.
#include "kernels/cuda/dialect.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/common/bf16.h"
#include "kernels/common/dtype.h"

namespace mtmap::cuda::detail {

inline constexpr int kThreads = 256;
// Grid-stride loops cover any n; the cap keeps the grid legal and the block count sane for huge
// tensors (65536 blocks × 256 threads = 16M threads, far more than any GPU keeps resident).
inline constexpr int64_t kMaxBlocks = 65536;

inline unsigned blocks_for(int64_t n, int64_t per_block = kThreads) {
  int64_t b = (n + per_block - 1) / per_block;
  return unsigned(std::clamp<int64_t>(b, 1, kMaxBlocks));
}

[[noreturn]] inline void unsupported(const char* launcher, DType t) {
  throw std::invalid_argument(std::string("cuda launcher ") + launcher + ": dtype " + dtype_name(t) + " not supported");
}

// Called right after every launch: a bad configuration (or an earlier asynchronous fault) shows
// up here, named after the launcher, instead of at some later synchronisation.
inline void check_launch(const char* launcher) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("cuda launcher ") + launcher + ": " + cudaGetErrorName(e) + " (" +
                             cudaGetErrorString(e) + ")");
}

inline void check_call(cudaError_t e, const char* launcher, const char* what) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("cuda launcher ") + launcher + ": " + what + " failed with " +
                             cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

// Storage type → the type arithmetic is done in (bf16 computes in float).
template <class T>
struct ComputeOf {
  using type = T;
};
template <>
struct ComputeOf<BFloat16> {
  using type = float;
};
template <class T>
using compute_t = typename ComputeOf<T>::type;

template <class T>
__device__ __forceinline__ compute_t<T> load(const T& v) {
  if constexpr (std::is_same_v<T, BFloat16>)
    return bf16_to_float(v);
  else
    return v;
}

template <class T>
__device__ __forceinline__ T store(compute_t<T> v) {
  if constexpr (std::is_same_v<T, BFloat16>)
    return float_to_bf16(v);
  else
    return v;
}

// f(T{}) for the math dtypes: f32, f64, bf16.
template <class F>
void float_switch(const char* launcher, DType t, F&& f) {
  switch (t) {
    case DType::f32: f(float{}); return;
    case DType::f64: f(double{}); return;
    case DType::bf16: f(BFloat16{}); return;
    default: unsupported(launcher, t);
  }
}

// f(T{}) for every dtype.
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
  unsupported("any_switch", t);
}

}  // namespace mtmap::cuda::detail
