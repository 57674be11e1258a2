#pragma once
// Per-device CUDA state, created on first use of a device and kept for the life of the process:
// the device's compute stream (every op on the device is enqueued on it, in order), a copy stream
// for transfers that overlap the compute (the loader's feeder, data parallel's buckets), a cuBLAS
// handle bound to the compute stream, the device's stream-aware caching allocator, and what the
// kernels would otherwise ask the driver again and again (per-device caches live here, not in
// the kernels). Only compiled when the CUDA backend is built (MTMAP_WITH_CUDA).
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <array>
#include <memory>
#include <mutex>

#include "engine/cuda/stream.h"
#include "engine/tensor/allocator.h"
#include "kernels/common/dtype.h"

namespace mtmap {
class Backend;
class CudaBackend;
}  // namespace mtmap

namespace mtmap::cuda {

class CachingAllocator;

class DeviceContext {
 public:
  explicit DeviceContext(int index);
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;

  int index() const { return index_; }
  cudaStream_t stream() const { return compute_.get(); }
  const Stream& compute_stream() const { return compute_; }
  const Stream& copy_stream() const { return copy_; }
  cublasHandle_t cublas() const { return cublas_; }
  Allocator& allocator();
  // The backend contract's implementation on this device (engine/backend/backend.h).
  const Backend& backend() const;
  // Blocks the host until everything enqueued on the compute stream has run; rethrows a kernel error.
  void synchronize() const;
  // How many blocks of batch norm's one-pass backward (dtype t) this GPU holds resident at once
  // (kernels/cuda/batch_norm.h): asked of the driver on the first call, then kept.
  int64_t bn_one_pass_capacity(DType t);

 private:
  int index_;
  Stream compute_, copy_;
  cublasHandle_t cublas_ = nullptr;
  std::unique_ptr<CachingAllocator> allocator_;
  std::unique_ptr<CudaBackend> backend_;
  std::mutex cache_mutex_;
  std::array<int64_t, kNumDTypes> bn_capacity_;  // by DType; -1: not asked yet
};

// The context of device `index` (created on first call, thread-safe). Throws an mtmap::Error that
// names the device when it does not exist.
DeviceContext& context(int index);

}  // namespace mtmap::cuda
