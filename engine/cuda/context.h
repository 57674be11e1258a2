#pragma once
// The CUDA state an execution context (engine/context/execution_context.h) owns for one GPU:
// the compute stream (every op run under the context is enqueued on it, in order), a copy stream
// for transfers that overlap the compute (the loader's feeder, data parallel's buckets), a cuBLAS
// handle bound to the compute stream, a stream-aware caching allocator, the CUDA backend over
// all of them, the record the index kernels report a bad index to (engine/cuda/index_errors.h:
// reported at the next synchronisation point below), and what the kernels would otherwise ask
// the driver again and again (per-device caches live here, not in the kernels). There is no
// registry of these: each belongs to the ExecutionContext that made it (the device's default
// context, or a caller's).
// Only compiled when the CUDA backend is built (MTMAP_WITH_CUDA).
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <array>
#include <memory>
#include <mutex>

#include "engine/cuda/index_errors.h"
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
  // Throws an mtmap::Error naming the device when it does not exist.
  explicit DeviceContext(int index);
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;

  int index() const { return index_; }
  cudaStream_t stream() const { return compute_.get(); }
  const Stream& compute_stream() const { return compute_; }
  const Stream& copy_stream() const { return copy_; }
  cublasHandle_t cublas() const { return cublas_; }
  Allocator& allocator() const;
  // Shared with the storage of the tensors it served, which keeps it alive after the context.
  const std::shared_ptr<CachingAllocator>& shared_allocator() const { return allocator_; }
  // The backend contract's implementation over this state (engine/backend/backend.h).
  const Backend& backend() const;
  // Blocks the host until everything enqueued on the compute and copy streams has run; rethrows
  // a kernel error, and throws the bad index an index kernel met since the last check.
  void synchronize() const;
  // For an index kernel about to be enqueued on the compute stream: where it records a bad index.
  IndexErrorSlot index_error_record() const { return index_errors_.arm(); }
  // Throws the bad index an index kernel enqueued since the last check met (waiting for the
  // compute stream when one was enqueued; free otherwise). Every synchronisation point calls it:
  // synchronize() and the backend's copies to and from the host and peers.
  void check_index_errors() const { index_errors_.check(); }
  // Makes this device the calling thread's current CUDA device (kernels launch there); a no-op
  // when it already is.
  void make_current() const;
  // How many blocks of batch norm's one-pass backward (dtype t) this GPU holds resident at once
  // (kernels/cuda/batch_norm.h): asked of the driver on the first call, then kept.
  int64_t bn_one_pass_capacity(DType t, DType pt);  // pt: the parameters' dtype (f32 with bf16 t)

 private:
  int index_;
  Stream compute_, copy_;
  IndexErrors index_errors_;
  cublasHandle_t cublas_ = nullptr;
  std::shared_ptr<CachingAllocator> allocator_;
  std::unique_ptr<CudaBackend> backend_;
  std::mutex cache_mutex_;
  std::array<int64_t, kNumDTypes> bn_capacity_;  // by DType; -1: not asked yet
  int64_t bn_capacity_mixed_ = -1;               // bf16 input, f32 parameters
};

}  // namespace mtmap::cuda
