#pragma once
// Per-device CUDA state, created on first use of a device and kept for the life of the process:
// the device's compute stream (every op on the device is enqueued on it, in order), a cuBLAS
// handle bound to that stream, and the device's stream-aware caching allocator.
// Only compiled when the CUDA backend is built (MTMAP_WITH_CUDA).
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <memory>

#include "engine/tensor/allocator.h"

namespace mtmap::cuda {

class CachingAllocator;

class DeviceContext {
 public:
  explicit DeviceContext(int index);
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;

  int index() const { return index_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  Allocator& allocator();
  // Blocks the host until everything enqueued on the stream has run; rethrows a kernel error.
  void synchronize() const;

 private:
  int index_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::unique_ptr<CachingAllocator> allocator_;
};

// The context of device `index` (created on first call, thread-safe). Throws an mtmap::Error that
// names the device when it does not exist.
DeviceContext& context(int index);

}  // namespace mtmap::cuda
