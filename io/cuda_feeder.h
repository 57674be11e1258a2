#pragma once
// Moves the loader's batches to a CUDA device without stalling the GPU or racing the workers.
// Compiled only with the CUDA backend (MTMAP_WITH_CUDA). NOT RUN on the development machine (no
// GPU there): its test skips (exit 77) without a device; the design is checked by reading:
//  - the loader's slots are pinned (PinnedAllocator, cudaHostAlloc), so the copy is truly async;
//  - each batch is copied on a dedicated copy stream into one of two device buffers, and one
//    event per device buffer (`copied`) is recorded after its copy; the compute stream waits on
//    that event (cudaStreamWaitEvent), never the host, before any kernel reads the batch;
//  - Caffe PR #2998's race (a prefetch thread refilling a host buffer while the async copy out of
//    it is still in flight, and the device buffer being overwritten while kernels read it) is
//    avoided twice over: before the loader's host slot is handed back to the workers (the next
//    loader.next()) the host waits on that copy's `copied` event; and before a device buffer is
//    refilled, the copy stream waits on its `consumed` event, recorded on the compute stream
//    when the batch that used it was handed over, i.e. after all work the consumer enqueued.
#include <cstdint>
#include <cuda_runtime_api.h>

#include <array>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "engine/cuda/stream.h"
#include "engine/tensor/allocator.h"
#include "io/loader.h"

namespace mtmap::io {

// Page-locked host memory for the loader's slots.
class PinnedAllocator : public Allocator {
 public:
  void* allocate(size_t bytes) override;
  void deallocate(void* ptr) noexcept override;
  Device device() const override { return Device::cpu(); }
  MemoryStats stats() const override;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<void*, size_t> sizes_;
  MemoryStats stats_;
};

struct DeviceBatch {
  Tensor query, key;  // f32 (N, 3, T, S, S) on the device; ready on the compute stream
  std::vector<int64_t> items;
  int64_t index = 0;
};

class CudaFeeder {
 public:
  // `loader` must have been built with a PinnedAllocator as its host allocator. Batches are
  // consumed on `compute` and copied on `copy` (when null: the compute and copy streams of the
  // calling thread's current execution context for the device, engine/context/
  // execution_context.h); the streams are the caller's, the feeder's events its own.
  CudaFeeder(Loader& loader, int device, cudaStream_t compute = nullptr, cudaStream_t copy = nullptr);
  ~CudaFeeder();
  CudaFeeder(const CudaFeeder&) = delete;
  CudaFeeder& operator=(const CudaFeeder&) = delete;
  // The next batch, valid (on the compute stream) until the call after next; nullopt at the end
  // of the loader's epoch.
  std::optional<DeviceBatch> next();
  // Waits for the copy out of the host slot now lent, so the loader may take its slots back:
  // call before the loader's start_epoch.
  void drain();

 private:
  struct Buffer {
    Tensor query, key;
    cuda::Event copied, consumed;
    bool used = false;
  };
  Loader& loader_;
  int device_;  // first: made current before the events are created on it
  cudaStream_t compute_ = nullptr, copy_ = nullptr;
  std::array<Buffer, 2> buffers_;
  int64_t count_ = 0;
  const cuda::Event* pending_copy_ = nullptr;  // the copy out of the host slot now lent to us
};

}  // namespace mtmap::io
