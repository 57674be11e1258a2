#pragma once
// Out-of-range indices met by the CUDA index kernels, carried to the host as an mtmap::Error.
//
// A kernel cannot throw, so each execution context's device state owns one IndexErrorRecord in
// device memory (kernels/common/index_error.h): an index kernel enqueued on the context's compute
// stream records its lowest-positioned bad index there (op, position, value, bound; the first
// launch to meet one owns the record, so the error is the CPU check's whatever order threads
// ran in) and reads nothing at it. The host looks at the record **deferred**, at the context's next
// synchronisation point: DeviceContext::synchronize (and ExecutionContext::synchronize), and every
// copy to or from the host or a peer, which is how any result reaches the host (to(cpu) and what
// reads a moved tensor). So the success path costs no synchronisation at all, and a
// context that has run no index kernel since its last check costs nothing more at those points
// either; after index kernels one small device→host read is added there. The error says it was
// found by a kernel launched earlier, since the call that throws is not the one that was wrong.
// Reporting resets the record, so the context works on afterwards. A context destroyed with an
// unreported error prints it on stderr (a destructor cannot throw); a device's default context is
// never destroyed, but nothing it computed reaches the host without passing a synchronisation
// point, which reports the error first.
// Only compiled when the CUDA backend is built (MTMAP_WITH_CUDA).
#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "kernels/common/index_error.h"

namespace mtmap::cuda {

class IndexErrors {
 public:
  // The record of the index kernels enqueued on `stream` (a context's compute stream), allocated
  // on `device`, which must be the calling thread's current device.
  IndexErrors(int device, cudaStream_t stream);
  ~IndexErrors();
  IndexErrors(const IndexErrors&) = delete;
  IndexErrors& operator=(const IndexErrors&) = delete;

  // The record for an index kernel about to be enqueued, with a launch number of its own (never
  // 0; it wraps after 2^31 launches, far more than run between two synchronisations); marks a
  // check as due.
  IndexErrorSlot arm() const {
    due_.store(true, std::memory_order_relaxed);
    uint32_t n = launches_.fetch_add(1, std::memory_order_relaxed) % 0x7fffffffu + 1u;
    return IndexErrorSlot{record_, int32_t(n)};
  }
  // When an index kernel was enqueued since the last check: reads the record after everything
  // enqueued on the stream and, if a kernel claimed it, clears it and throws the mtmap::Error the
  // CPU check would have raised, naming the device.
  void check() const;
  // The same for a destructor: prints the error on stderr instead of throwing.
  void check_nothrow() const noexcept;

 private:
  std::string message(const IndexErrorRecord& r) const;
  int device_;
  cudaStream_t stream_;
  IndexErrorRecord* record_ = nullptr;  // device memory
  mutable std::atomic<bool> due_{false};
  mutable std::atomic<uint32_t> launches_{0};
};

}  // namespace mtmap::cuda
