#pragma once
// A stream-aware caching allocator for one CUDA device. cudaMalloc and cudaFree are slow and
// cudaFree synchronises the device, so freed blocks are kept and handed out again.
//  - Each block remembers the stream it was allocated for; a freed block is reused only by an
//    allocation on that same stream. Stream order then makes reuse safe without events: kernels
//    that still read the old tensor were enqueued before any kernel that writes the new one.
//    (A tensor used on a second stream would need an event before its free: not done yet, every
//    op runs on the device's one compute stream.)
//  - Sizes are rounded (512 B granularity up to 1 MiB: the small pool; 128 KiB above: the large
//    pool) and a request takes the best-fitting cached block of its pool that wastes little
//    (blocks are not split, so a large block is only reused by a request of a similar size).
//  - When cudaMalloc fails the cache is released (after a device synchronisation) and the
//    allocation retried once; a second failure throws an mtmap::Error naming the bytes and stats.
//  - Poison (Allocator::set_poison) fills every new block with 0xFF bytes, on the block's stream.
// Thread-safe (one mutex). Only compiled with the CUDA backend.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>

#include "engine/tensor/allocator.h"

namespace mtmap::cuda {

class CachingAllocator final : public Allocator {
 public:
  static constexpr size_t kSmallGranularity = 512;
  static constexpr size_t kSmallLimit = size_t(1) << 20;  // requests up to 1 MiB use the small pool
  static constexpr size_t kLargeGranularity = size_t(128) << 10;

  // `stream` is the stream allocate(bytes) serves (the device's compute stream).
  CachingAllocator(int device, cudaStream_t stream);
  ~CachingAllocator() override;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(size_t bytes) override;
  // A block whose first and last users are kernels on `stream`.
  void* allocate(size_t bytes, cudaStream_t stream);
  void deallocate(void* ptr) noexcept override;
  Device device() const override { return Device::cuda(device_); }
  MemoryStats stats() const override;
  // Returns every cached (free) block to the driver.
  void empty_cache();

  // The size a request of `bytes` is rounded to (exposed for tests).
  static size_t round_size(size_t bytes);

 private:
  struct Block {
    void* ptr;
    size_t size;
    cudaStream_t stream;
  };
  // Free blocks ordered by (stream, size, address): lower_bound finds the best fit on a stream.
  using Key = std::tuple<cudaStream_t, size_t, void*>;

  void release_cached_locked() noexcept;

  int device_;
  cudaStream_t stream_;
  mutable std::mutex mutex_;
  std::set<Key> free_small_, free_large_;
  std::unordered_map<void*, Block> live_;
  MemoryStats stats_;
};

}  // namespace mtmap::cuda
