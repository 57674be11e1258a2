#include "engine/cuda/index_errors.h"

#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/cuda/cuda_check.h"

namespace mtmap::cuda {

IndexErrors::IndexErrors(int device, cudaStream_t stream) : device_(device), stream_(stream) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, sizeof(IndexErrorRecord)));
  record_ = static_cast<IndexErrorRecord*>(p);
  // Not from the caching allocator: its poisoned blocks would read as a claimed record. Cleared
  // on the kernels' own stream: a plain cudaMemset runs on the legacy default stream, which a
  // non-blocking stream does not wait for.
  CUDA_CHECK(cudaMemsetAsync(record_, 0, sizeof(IndexErrorRecord), stream_));
}

IndexErrors::~IndexErrors() {
  if (record_) CUDA_CHECK_NOTHROW(cudaFree(record_));
}

std::string IndexErrors::message(const IndexErrorRecord& r) const {
  // The CPU check's wording (engine/ops/index.cpp), then where and when it was found.
  return fmt::format("{}: index {} at position {} is out of range [0, {}) (found on cuda:{} by a kernel launched "
                     "earlier, reported at this synchronisation)",
                     index_op_name(r.op), r.value, r.position, r.bound, device_);
}

void IndexErrors::check() const {
  if (!due_.exchange(false, std::memory_order_relaxed)) return;
  IndexErrorRecord seen;
  CUDA_CHECK(cudaMemcpyAsync(&seen, record_, sizeof seen, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  if (seen.claimed == 0) return;
  // Cleared in stream order: kernels enqueued after this report record their own errors.
  CUDA_CHECK(cudaMemsetAsync(record_, 0, sizeof(IndexErrorRecord), stream_));
  MTMAP_FAIL("{}", message(seen));
}

void IndexErrors::check_nothrow() const noexcept {
  try {
    check();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mtmap: %s (unreported when its execution context was destroyed)\n", e.what());
  }
}

}  // namespace mtmap::cuda
