// See cuda_feeder.h for the stream/event protocol. Unverified on hardware (no GPU where it was
// written): compiled with -DMTMAP_CUDA=ON only.
#include "io/cuda_feeder.h"

#include <algorithm>

#include "engine/context/execution_context.h"
#include "engine/cuda/cuda_check.h"

namespace mtmap::io {

void* PinnedAllocator::allocate(size_t bytes) {
  void* p = nullptr;
  CUDA_CHECK(cudaHostAlloc(&p, bytes == 0 ? 1 : bytes, cudaHostAllocDefault));
  std::lock_guard<std::mutex> lock(mutex_);
  sizes_[p] = bytes;  // deallocate() is not told the size
  stats_.allocated += bytes;
  stats_.reserved = stats_.allocated;
  stats_.peak = std::max(stats_.peak, stats_.allocated);
  return p;
}

void PinnedAllocator::deallocate(void* ptr) noexcept {
  if (!ptr) return;
  CUDA_CHECK_NOTHROW(cudaFreeHost(ptr));
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sizes_.find(ptr);
  if (it != sizes_.end()) {
    stats_.allocated -= it->second;
    stats_.reserved = stats_.allocated;
    sizes_.erase(it);
  }
}

MemoryStats PinnedAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

namespace {

int make_current(int device) {
  CUDA_CHECK(cudaSetDevice(device));
  return device;
}

}  // namespace

CudaFeeder::CudaFeeder(Loader& loader, int device, cudaStream_t compute, cudaStream_t copy)
    : loader_(loader), device_(make_current(device)) {
  ExecutionContext& ctx = ExecutionContext::current(Device::cuda(device_));
  compute_ = compute ? compute : ctx.compute_stream().get();
  copy_ = copy ? copy : ctx.copy_stream().get();
}

CudaFeeder::~CudaFeeder() {
  // Nothing may still be copying into or out of memory about to be freed (the events are
  // destroyed after this, by their own destructors).
  CUDA_CHECK_NOTHROW(cudaStreamSynchronize(copy_));
}

void CudaFeeder::drain() {
  if (pending_copy_) pending_copy_->synchronize();
  pending_copy_ = nullptr;
}

std::optional<DeviceBatch> CudaFeeder::next() {
  CUDA_CHECK(cudaSetDevice(device_));
  // The previous batch: its consumer has enqueued its work on the compute stream by now; mark
  // the point after which its device buffer may be overwritten.
  if (count_ > 0) buffers_[size_t((count_ - 1) % 2)].consumed.record(compute_);
  // The host slot of the previous batch goes back to the workers inside loader_.next(): its
  // async copy must have finished reading it first.
  if (pending_copy_) pending_copy_->synchronize();
  pending_copy_ = nullptr;
  std::optional<Batch> host = loader_.next();
  if (!host) return std::nullopt;

  Buffer& buf = buffers_[size_t(count_ % 2)];
  const Device dev = Device::cuda(device_);
  if (!buf.query.defined() || buf.query.shape() != host->query.shape()) {
    buf.query = empty(host->query.shape(), DType::f32, dev);
    buf.key = empty(host->key.shape(), DType::f32, dev);
    // The caching allocator hands out blocks in compute-stream order: a fresh block may be one the
    // compute stream's queued kernels still read. The copy stream waits for them first.
    buf.consumed.record(compute_);
    buf.used = true;
  }
  if (buf.used) CUDA_CHECK(cudaStreamWaitEvent(copy_, buf.consumed.get(), 0));  // kernels done reading it
  CUDA_CHECK(cudaMemcpyAsync(buf.query.raw(), host->query.raw(), host->query.nbytes(), cudaMemcpyHostToDevice,
                             copy_));
  CUDA_CHECK(cudaMemcpyAsync(buf.key.raw(), host->key.raw(), host->key.nbytes(), cudaMemcpyHostToDevice, copy_));
  buf.copied.record(copy_);
  CUDA_CHECK(cudaStreamWaitEvent(compute_, buf.copied.get(), 0));  // the GPU, not the host, waits
  buf.used = true;
  pending_copy_ = &buf.copied;
  ++count_;
  return DeviceBatch{buf.query, buf.key, host->items, host->index};
}

}  // namespace mtmap::io
