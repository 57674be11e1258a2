#include "engine/tensor/allocator.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>

#include "engine/core/error.h"

namespace mtmap {
namespace {

class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    // aligned_alloc wants a multiple of the alignment; a zero-size tensor still gets a block.
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) {
      const MemoryStats now = stats();
      throw OutOfMemory(fmt::format("out of memory on the CPU: cannot allocate {:.3g} GiB for a tensor ({:.3g} GiB held "
                                    "by tensors now, {:.3g} GiB at most so far)",
                                    double(bytes) / double(1 << 30), double(now.allocated) / double(1 << 30),
                                    double(now.peak) / double(1 << 30)));
    }
    if (poison()) std::memset(p, 0xFF, rounded);
    std::lock_guard<std::mutex> lock(mutex_);
    sizes_[p] = rounded;
    stats_.allocated += rounded;
    stats_.reserved += rounded;
    if (stats_.allocated > stats_.peak) stats_.peak = stats_.allocated;
    return p;
  }

  void deallocate(void* p) noexcept override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = sizes_.find(p);
      if (it != sizes_.end()) {
        stats_.allocated -= it->second;
        stats_.reserved -= it->second;
        sizes_.erase(it);
      }
    }
    std::free(p);
  }

  Device device() const override { return Device::cpu(); }

  MemoryStats stats() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<void*, size_t> sizes_;
  MemoryStats stats_;
};

}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator alloc;
  return alloc;
}

std::shared_ptr<Allocator> make_cpu_allocator() { return std::make_shared<CpuAllocator>(); }

Storage::Storage(Allocator& alloc, size_t bytes)
    : alloc_(&alloc), keep_alive_(alloc.weak_from_this().lock()), data_(alloc.allocate(bytes)), bytes_(bytes) {}

Storage::~Storage() {
  if (data_) alloc_->deallocate(data_);
}

}  // namespace mtmap
