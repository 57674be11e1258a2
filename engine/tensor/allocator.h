#pragma once
// Storage comes from allocators. The CPU allocator hands out 64-byte aligned blocks; the CUDA one
// (engine/cuda/caching_allocator.h) caches blocks per stream. Both report their byte counts and
// can poison new blocks (every byte 0xFF: NaN for floats, -1 for ints) so tests catch kernels
// that leave part of their output unwritten.
#include <atomic>
#include <cstddef>
#include <memory>

#include "engine/core/device.h"

namespace mtmap {

struct MemoryStats {
  size_t allocated = 0;  // bytes in live blocks
  size_t reserved = 0;   // bytes held from the system (live + cached)
  size_t peak = 0;       // high-water mark of `allocated`
};

// An allocator may be owned by a shared_ptr (an execution context's, engine/context/): storage
// then keeps it alive until its last block is freed. One that is not (cpu_allocator(), a
// caller's) must outlive its blocks.
class Allocator : public std::enable_shared_from_this<Allocator> {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr) noexcept = 0;
  virtual Device device() const = 0;
  virtual MemoryStats stats() const = 0;
  void set_poison(bool on) { poison_.store(on); }
  bool poison() const { return poison_.load(); }

 private:
  std::atomic<bool> poison_{false};
};

// The default CPU context's allocator (lives as long as the process).
Allocator& cpu_allocator();
// A new CPU allocator of its own (its own stats and poison setting): a caller-owned CPU
// context's.
std::shared_ptr<Allocator> make_cpu_allocator();

// One allocation, freed through its allocator when the last tensor viewing it goes away (an
// allocator owned by a shared_ptr is kept alive until then). Move-only: copies of tensors share
// it through shared_ptr<Storage>.
class Storage {
 public:
  Storage(Allocator& alloc, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return alloc_->device(); }
  Allocator& allocator() const { return *alloc_; }

 private:
  Allocator* alloc_;
  std::shared_ptr<Allocator> keep_alive_;  // null for an allocator not owned by a shared_ptr
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace mtmap
