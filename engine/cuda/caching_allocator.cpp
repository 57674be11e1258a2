#include "engine/cuda/caching_allocator.h"

#include <algorithm>

#include "engine/cuda/cuda_check.h"

namespace mtmap::cuda {
namespace {

// Makes `device` current for the scope (cudaMalloc and cudaFree act on the current device) and
// restores the caller's device after.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ != device) cudaSetDevice(device);
  }
  ~DeviceGuard() {
    int now = -1;
    if (previous_ >= 0 && cudaGetDevice(&now) == cudaSuccess && now != previous_) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

// A cached block may serve a request it exceeds by at most this much (blocks are not split).
size_t max_waste(size_t rounded) { return rounded <= CachingAllocator::kSmallLimit ? rounded : rounded / 8; }

}  // namespace

CachingAllocator::CachingAllocator(int device, cudaStream_t stream) : device_(device), stream_(stream) {}

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mutex_);
  DeviceGuard guard(device_);
  CUDA_CHECK_NOTHROW(cudaDeviceSynchronize());
  release_cached_locked();
  // Storage keeps a context's allocator alive until its last block is freed, so no block should
  // be live here; one that is (an allocator used without shared ownership) is freed anyway
  // rather than leaked, and its tensor must not be used again.
  for (auto& [ptr, block] : live_) CUDA_CHECK_NOTHROW(cudaFree(block.ptr));
  live_.clear();
}

size_t CachingAllocator::round_size(size_t bytes) {
  if (bytes == 0) return kSmallGranularity;  // a zero-size tensor still gets a distinct pointer
  size_t g = bytes <= kSmallLimit ? kSmallGranularity : kLargeGranularity;
  return (bytes + g - 1) / g * g;
}

void* CachingAllocator::allocate(size_t bytes) { return allocate(bytes, stream_); }

void* CachingAllocator::allocate(size_t bytes, cudaStream_t stream) {
  size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  DeviceGuard guard(device_);
  std::set<Key>& pool = size <= kSmallLimit ? free_small_ : free_large_;
  Block block{nullptr, 0, stream};
  auto it = pool.lower_bound(Key{stream, size, nullptr});
  if (it != pool.end() && std::get<0>(*it) == stream && std::get<1>(*it) - size <= max_waste(size)) {
    block.size = std::get<1>(*it);
    block.ptr = std::get<2>(*it);
    pool.erase(it);
  } else {
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();                           // clear the error before retrying
      CUDA_CHECK_NOTHROW(cudaDeviceSynchronize());  // cached blocks may still be in use by kernels
      release_cached_locked();
      err = cudaMalloc(&p, size);
      if (err == cudaErrorMemoryAllocation) cudaGetLastError();
    }
    if (err == cudaErrorMemoryAllocation)
      throw OutOfMemory(fmt::format("out of memory on cuda:{}: cannot allocate {:.3g} GiB ({} bytes; {:.3g} GiB "
                                    "allocated, {:.3g} GiB reserved, {:.3g} GiB at most so far)",
                                    device_, double(size) / double(1 << 30), size,
                                    double(stats_.allocated) / double(1 << 30), double(stats_.reserved) / double(1 << 30),
                                    double(stats_.peak) / double(1 << 30)));
    MTMAP_CHECK(err == cudaSuccess,
                "cuda:{} allocator: cannot allocate {} bytes ({} rounded): {} ({}); allocated {} B, reserved {} B, "
                "peak {} B",
                device_, bytes, size, cudaGetErrorName(err), cudaGetErrorString(err), stats_.allocated, stats_.reserved,
                stats_.peak);
    block.ptr = p;
    block.size = size;
    stats_.reserved += size;
  }
  live_.emplace(block.ptr, block);
  stats_.allocated += block.size;
  stats_.peak = std::max(stats_.peak, stats_.allocated);
  if (poison()) CUDA_CHECK(cudaMemsetAsync(block.ptr, 0xFF, block.size, stream));
  return block.ptr;
}

void CachingAllocator::deallocate(void* ptr) noexcept {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  if (it == live_.end()) {
    std::fprintf(stderr, "mtmap: cuda:%d allocator: freeing unknown pointer %p (ignored)\n", device_, ptr);
    return;
  }
  Block b = it->second;
  live_.erase(it);
  stats_.allocated -= b.size;
  (b.size <= kSmallLimit ? free_small_ : free_large_).insert(Key{b.stream, b.size, b.ptr});
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  DeviceGuard guard(device_);
  release_cached_locked();
}

void CachingAllocator::release_cached_locked() noexcept {
  // cudaFree waits for the device, so blocks freed on a stream are no longer in use.
  for (auto* pool : {&free_small_, &free_large_}) {
    for (const Key& k : *pool) {
      CUDA_CHECK_NOTHROW(cudaFree(std::get<2>(k)));
      stats_.reserved -= std::get<1>(k);
    }
    pool->clear();
  }
}

}  // namespace mtmap::cuda
