#pragma once
// Shared plumbing of op implementations (not a public header): device checks and access to the
// CUDA stream and cuBLAS handle of a tensor's device.
#include <initializer_list>

#include "engine/core/backend.h"
#include "engine/tensor/tensor.h"

#ifdef MTMAP_WITH_CUDA
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#endif

namespace mtmap::detail {

// All tensors on one device; names the op and each device otherwise.
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
// dtype must be one of the floating types the op's backend computes in.
void check_float(const char* op, const Tensor& t);
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);
// For ops whose CUDA kernels do not exist yet: a clear error instead of a hidden fallback.
void check_cpu_only(const char* op, const Tensor& t);
// Throws "<op>: this build has no CUDA backend" (used where a CUDA branch cannot be compiled).
[[noreturn]] void no_cuda_build(const char* op);

#ifdef MTMAP_WITH_CUDA
cudaStream_t stream_of(const Device& d);
cublasHandle_t cublas_of(const Device& d);

// Runs a CUDA launcher call. Kernels are leaves and throw std exceptions (a bad dtype, a failed
// launch); they reach the caller as mtmap::Error naming the op.
template <class F>
void run_cuda(const char* op, F&& launch) {
  try {
    launch();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    MTMAP_FAIL("{}: {}", op, e.what());
  }
}
#endif

}  // namespace mtmap::detail

// The CUDA branch of an op: the launcher call where the backend is built, a clear error naming
// the op where it is not.  Usage: if (cpu) cpu::f(...); else MTMAP_ON_CUDA("op", cuda::f(...));
#ifdef MTMAP_WITH_CUDA
#define MTMAP_ON_CUDA(op, ...) ::mtmap::detail::run_cuda(op, [&] { __VA_ARGS__; })
#else
#define MTMAP_ON_CUDA(op, ...) ::mtmap::detail::no_cuda_build(op)
#endif
