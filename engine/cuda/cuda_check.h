#pragma once
// Error checks for CUDA runtime and cuBLAS calls: throw mtmap::Error naming the call and the code.
// The _NOTHROW forms are for destructors: they report on stderr and carry on.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdio>

#include "engine/core/error.h"

#define CUDA_CHECK(call)                                                                            \
  do {                                                                                              \
    cudaError_t err_ = (call);                                                                      \
    if (err_ != cudaSuccess) MTMAP_FAIL("CUDA error {} ({}) in {}", cudaGetErrorName(err_),         \
                                        cudaGetErrorString(err_), #call);                           \
  } while (0)

#define CUDA_CHECK_NOTHROW(call)                                                                    \
  do {                                                                                              \
    cudaError_t err_ = (call);                                                                      \
    if (err_ != cudaSuccess)                                                                        \
      std::fprintf(stderr, "mtmap: CUDA error %s in %s (ignored in a destructor)\n",                \
                   cudaGetErrorName(err_), #call);                                                  \
  } while (0)

#define CUBLAS_CHECK(call)                                                                          \
  do {                                                                                              \
    cublasStatus_t st_ = (call);                                                                    \
    if (st_ != CUBLAS_STATUS_SUCCESS) MTMAP_FAIL("cuBLAS error {} in {}", int(st_), #call);        \
  } while (0)
