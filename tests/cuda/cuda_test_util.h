#pragma once
// Helpers of the CUDA parity tests: random inputs made on the CPU from a Generator, moved to the
// GPU with to(); results compared with the CPU op (the reference) after moving them back.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/random/generator.h"
#include "engine/tensor/tensor.h"

#include "engine/context/execution_context.h"
#ifndef MTMAP_TEST_GPU_IS_CPU
#include "engine/cuda/context.h"
#endif

namespace mtmap::test {

// MTMAP_TEST_GPU_IS_CPU (a manual self-check of the test code, never a CTest target): "the GPU"
// is the CPU, bf16 is dropped (the CPU has no bf16 math), so every parity test must pass
// trivially; it shows the tests' own logic and shapes are sound on a machine without a GPU:
//   g++ -std=c++20 -O1 -I. -DMTMAP_TEST_GPU_IS_CPU tests/main.cpp tests/cuda/test_cuda_ops.cpp
//       tests/cuda/test_cuda_math.cpp tests/cuda/test_cuda_launchers.cpp build-cpu/engine/libmtmap_engine.a
//       build-cpu/kernels/libmtmap_kernels_cpu.a -lfmt -lopenblas -o /tmp/selfcheck
#ifdef MTMAP_TEST_GPU_IS_CPU
inline Device gpu() { return Device::cpu(); }
inline Allocator& gpu_allocator_base() { return cpu_allocator(); }
inline std::vector<DType> float_types() { return {DType::f32, DType::f64}; }
#else
inline Device gpu() { return Device::cuda(0); }
// The state of cuda:0's default execution context: what the ops run on outside any scope.
inline cuda::DeviceContext& gpu_state() { return ExecutionContext::default_for(Device::cuda(0)).cuda_state(); }
inline Allocator& gpu_allocator_base() { return ExecutionContext::current(Device::cuda(0)).allocator(); }
inline std::vector<DType> float_types() { return {DType::f32, DType::f64, DType::bf16}; }
#endif

// Poisons every new CUDA block (0xFF bytes: NaN in floats, -1 in ints) for the scope, so an output
// element a kernel forgot to write shows up as a mismatch.
class PoisonScope {
 public:
  PoisonScope() { gpu_allocator_base().set_poison(true); }
  ~PoisonScope() { gpu_allocator_base().set_poison(false); }
  PoisonScope(const PoisonScope&) = delete;
  PoisonScope& operator=(const PoisonScope&) = delete;
};

// N(0, 1) values of `dtype` on the CPU (bf16: rounded from f32). `positive` maps x to |x| + 0.1
// for ops whose domain needs it (log, sqrt, pow).
inline Tensor random_input(const Shape& shape, Generator& gen, DType dtype, bool positive = false) {
  Tensor x = randn(shape, gen, dtype == DType::f64 ? DType::f64 : DType::f32);
  if (positive) x = add(abs(x), 0.1);
  return x.to(dtype);
}

// Integers 0..(levels-1), as f32/f64/bf16 (exact in all three): many ties for comparisons.
inline Tensor small_ints(const Shape& shape, Generator& gen, DType dtype, int levels = 5) {
  std::vector<double> u = rand(shape, gen, DType::f64).to_vector<double>();
  for (double& v : u) v = std::floor(v * levels);
  return from_vector(u, shape, DType::f64).to(dtype);
}

// Random i64 indices in [0, bound).
inline Tensor random_index(const Shape& shape, Generator& gen, int64_t bound) {
  std::vector<double> u = rand(shape, gen, DType::f64).to_vector<double>();
  std::vector<int64_t> idx(u.size());
  for (size_t i = 0; i < u.size(); ++i) idx[i] = std::min<int64_t>(int64_t(u[i] * double(bound)), bound - 1);
  return from_vector(idx, shape, DType::i64);
}

// The CPU reference input for an op run in `dtype` on the GPU: bf16 ops are compared with the
// f32 CPU op on the same (bf16-rounded) values, since the CPU computes f32 and f64 only.
inline Tensor reference_input(const Tensor& x) { return x.dtype() == DType::bf16 ? x.to(DType::f32) : x; }

// |got - want| <= atol + rtol |want| everywhere (NaN matches only NaN; a poisoned, unwritten
// element is NaN and fails). `got` may live on any device; both are compared in f64.
inline void check_close(const Tensor& want, const Tensor& got, double rtol, double atol, const std::string& what) {
  INFO(what << ": want " << want.str() << ", got " << got.str());
  REQUIRE(want.shape() == got.shape());
  std::vector<double> w = want.to(Device::cpu()).to_vector<double>();
  std::vector<double> g = got.to(Device::cpu()).to_vector<double>();
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    bool ok;
    if (std::isnan(w[i]))
      ok = std::isnan(g[i]);
    else if (std::isinf(w[i]))
      ok = g[i] == w[i];
    else {
      double err = std::abs(g[i] - w[i]);
      ok = err <= atol + rtol * std::abs(w[i]);  // false for NaN
      if (std::isfinite(err)) worst = std::max(worst, err / (atol + rtol * std::abs(w[i])));
    }
    if (!ok && bad++ == 0) first = i;
  }
  INFO("worst error / tolerance " << worst << "; " << bad << " of " << w.size() << " elements out of tolerance"
                                  << (bad ? ", first at " + std::to_string(first) + ": want " +
                                                std::to_string(w[first]) + ", got " + std::to_string(g[first])
                                          : std::string()));
  CHECK(bad == 0);
}

// Bit-for-bit equality of two tensors of one dtype (got may be on the GPU).
inline void check_equal(const Tensor& want, const Tensor& got, const std::string& what) {
  INFO(what << ": want " << want.str() << ", got " << got.str());
  REQUIRE(want.shape() == got.shape());
  REQUIRE(want.dtype() == got.dtype());
  Tensor w = want.to(Device::cpu()).contiguous(), g = got.to(Device::cpu()).contiguous();
  size_t bytes = w.nbytes();
  size_t bad = 0, first = 0, es = dtype_size(w.dtype());
  const char* pw = static_cast<const char*>(w.raw());
  const char* pg = static_cast<const char*>(g.raw());
  for (size_t i = 0; i < bytes; i += es)
    if (std::memcmp(pw + i, pg + i, es) != 0 && bad++ == 0) first = i / es;
  INFO(bad << " of " << w.numel() << " elements differ" << (bad ? ", first at " + std::to_string(first) : ""));
  CHECK(bad == 0);
}

// Tolerances for one output element, by the dtype the GPU computed in.
struct Tol {
  double rtol, atol;
};

}  // namespace mtmap::test
