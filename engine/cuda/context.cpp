#include "engine/cuda/context.h"

#include <mutex>
#include <vector>

#include "engine/core/device_support.h"
#include "engine/cuda/caching_allocator.h"
#include "engine/backend/cuda_backend.h"
#include "engine/cuda/cuda_check.h"
#include "kernels/cuda/batch_norm.h"

namespace mtmap::cuda {

namespace {

int checked_index(int index) {
  require_device(Device::cuda(index), "cuda context");
  return index;
}

}  // namespace

DeviceContext::DeviceContext(int index) : index_(checked_index(index)), compute_(index), copy_(index) {
  cublasStatus_t st = cublasCreate(&cublas_);
  if (st != CUBLAS_STATUS_SUCCESS) MTMAP_FAIL("cuda:{}: cublasCreate failed with {}", index, cublasGetStatusName(st));
  CUBLAS_CHECK(cublasSetStream(cublas_, compute_.get()));
  // Default math: CUBLAS_COMPUTE_32F then computes in true fp32 (TF32 only under
  // CUBLAS_TF32_TENSOR_OP_MATH or a *_FAST_TF32 compute type, which we never ask for).
  CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
  allocator_ = std::make_unique<CachingAllocator>(index, compute_.get());
  bn_capacity_.fill(-1);
  backend_ = std::make_unique<CudaBackend>(index);
}

DeviceContext::~DeviceContext() {
  allocator_.reset();  // synchronises the device, then frees every block
  if (cublas_) {
    cublasStatus_t st = cublasDestroy(cublas_);
    if (st != CUBLAS_STATUS_SUCCESS)
      std::fprintf(stderr, "mtmap: cublasDestroy failed with %s (ignored in a destructor)\n", cublasGetStatusName(st));
  }
}

int64_t DeviceContext::bn_one_pass_capacity(DType t) {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  int64_t& known = bn_capacity_.at(size_t(t));
  if (known < 0) known = cuda::bn_one_pass_capacity(t, index_);
  return known;
}

Allocator& DeviceContext::allocator() { return *allocator_; }

const Backend& DeviceContext::backend() const { return *backend_; }

void DeviceContext::synchronize() const { compute_.synchronize(); }

DeviceContext& context(int index) {
  MTMAP_CHECK(index >= 0, "cuda context: device index {} is negative", index);
  require_device(Device::cuda(index), "cuda context");
  // Deliberately leaked: destroying contexts from a static destructor races the CUDA runtime's
  // own teardown at exit (frees then fail with cudaErrorCudartUnloading). The driver reclaims
  // everything when the process ends.
  static std::mutex* mutex = new std::mutex;
  static std::vector<std::unique_ptr<DeviceContext>>* registry = new std::vector<std::unique_ptr<DeviceContext>>;
  DeviceContext* ctx = nullptr;
  {
    std::lock_guard<std::mutex> lock(*mutex);
    if (registry->size() <= size_t(index)) registry->resize(size_t(index) + 1);
    auto& slot = (*registry)[size_t(index)];
    if (!slot) slot = std::make_unique<DeviceContext>(index);
    ctx = slot.get();
  }
  // Kernels launch on the calling thread's current device: make it the one whose stream the
  // caller is about to use (a no-op in the single-GPU case).
  int current = -1;
  if (cudaGetDevice(&current) != cudaSuccess || current != index) CUDA_CHECK(cudaSetDevice(index));
  return *ctx;
}

}  // namespace mtmap::cuda
