#pragma once
// Owning handles of a CUDA stream and a CUDA event: created in the constructor, destroyed in the
// destructor (errors there are reported, never thrown), movable, not copyable. Streams and events
// are passed to whoever enqueues work (the feeder's copy stream, the compute stream of a device's
// context), never looked up. Only compiled when the CUDA backend is built.
#include <cuda_runtime_api.h>

namespace mtmap::cuda {

class Event;

class Stream {
 public:
  // A non-blocking stream on device `device` (the legacy default stream does not serialise
  // against it).
  explicit Stream(int device);
  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return stream_; }
  int device() const { return device_; }
  void synchronize() const;          // blocks until everything enqueued has run; rethrows errors
  void wait(const Event& e) const;   // later work on this stream waits for e (no host block)

 private:
  void reset() noexcept;
  cudaStream_t stream_ = nullptr;
  int device_ = 0;
};

class Event {
 public:
  Event();  // without timing: the cheap kind, for ordering only
  ~Event();
  Event(Event&& other) noexcept;
  Event& operator=(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream);  // marks the point after everything enqueued on `stream` so far
  void synchronize() const;          // blocks the host until that point is reached

 private:
  void reset() noexcept;
  cudaEvent_t event_ = nullptr;
};

}  // namespace mtmap::cuda
