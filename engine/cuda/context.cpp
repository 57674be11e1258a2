#include "engine/cuda/context.h"

#include <cstdio>
#include <mutex>

#include "engine/core/device_support.h"
#include "engine/cuda/caching_allocator.h"
#include "engine/backend/cuda_backend.h"
#include "engine/cuda/cuda_check.h"
#include "kernels/cuda/batch_norm.h"

namespace mtmap::cuda {

namespace {

int checked_index(int index) {
  MTMAP_CHECK(index >= 0, "cuda context: device index {} is negative", index);
  require_device(Device::cuda(index), "cuda context");
  CUDA_CHECK(cudaSetDevice(index));  // the streams, handle and blocks below belong to it
  return index;
}

}  // namespace

DeviceContext::DeviceContext(int index)
    : index_(checked_index(index)), compute_(index), copy_(index), index_errors_(index, compute_.get()) {
  cublasStatus_t st = cublasCreate(&cublas_);
  if (st != CUBLAS_STATUS_SUCCESS) MTMAP_FAIL("cuda:{}: cublasCreate failed with {}", index, cublasGetStatusName(st));
  CUBLAS_CHECK(cublasSetStream(cublas_, compute_.get()));
  // Default math: CUBLAS_COMPUTE_32F then computes in true fp32 (TF32 only under
  // CUBLAS_TF32_TENSOR_OP_MATH or a *_FAST_TF32 compute type, which we never ask for).
  CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
  allocator_ = std::make_shared<CachingAllocator>(index, compute_.get());
  bn_capacity_.fill(-1);
  backend_ = std::make_unique<CudaBackend>(*this);
}

DeviceContext::~DeviceContext() {
  // Nothing of ours may still run when the streams go. The allocator frees its blocks (after
  // synchronising the device) when its last tensor is gone, which may be now.
  CUDA_CHECK_NOTHROW(cudaStreamSynchronize(compute_.get()));
  CUDA_CHECK_NOTHROW(cudaStreamSynchronize(copy_.get()));
  index_errors_.check_nothrow();  // an error nobody synchronised for is still told
  backend_.reset();
  allocator_.reset();
  if (cublas_) {
    cublasStatus_t st = cublasDestroy(cublas_);
    if (st != CUBLAS_STATUS_SUCCESS)
      std::fprintf(stderr, "mtmap: cublasDestroy failed with %s (ignored in a destructor)\n", cublasGetStatusName(st));
  }
}

int64_t DeviceContext::bn_one_pass_capacity(DType t, DType pt) {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  int64_t& known = pt == t ? bn_capacity_.at(size_t(t)) : bn_capacity_mixed_;
  if (known < 0) known = cuda::bn_one_pass_capacity(t, pt, index_);
  return known;
}

Allocator& DeviceContext::allocator() const { return *allocator_; }

const Backend& DeviceContext::backend() const { return *backend_; }

void DeviceContext::synchronize() const {
  compute_.synchronize();
  copy_.synchronize();
  check_index_errors();
}

void DeviceContext::make_current() const {
  int current = -1;
  if (cudaGetDevice(&current) != cudaSuccess || current != index_) CUDA_CHECK(cudaSetDevice(index_));
}

}  // namespace mtmap::cuda
