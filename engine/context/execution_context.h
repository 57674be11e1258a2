#pragma once
// The execution context: everything an op needs from a device beyond its tensors, in one object
// a caller owns and can see (docs/engine.md, "Execution context").
//
//  - A context is made for one Device. It owns that device's backend (engine/backend/backend.h)
//    and the backend's allocator; a CUDA context also owns the device state behind them
//    (cuda::DeviceContext, engine/cuda/context.h): its compute and copy streams (cuda::Stream),
//    its cuBLAS handle, its caching allocator and its per-device caches. Two contexts on one GPU
//    share nothing: each has its own streams, allocator and caches.
//  - Ops keep their signatures (a tensor carries its Device) and reach a backend through
//    backend_of(device) (engine/backend/backend.h), which asks ExecutionContext::current(device):
//    the innermost context made current on the calling thread by a Use scope whose device is
//    `device`, else that device's default context.
//  - The default contexts, one per device, made on first use and kept for the life of the
//    process, are what runs when no scope is open: ExecutionContext::default_for(device). The
//    default CPU context allocates from cpu_allocator() and leaves the thread count to
//    set_num_threads (engine/core/threads.h). There is no other mutable state behind the ops.
//  - Use scopes are per thread (a new thread starts with none: the defaults), nest, and restore
//    the previous state when they end, also when an exception leaves the scope.
//
// What stays process-wide, because the libraries underneath keep it so:
//  - OpenBLAS' thread count is one number for the process: a CPU context's scope sets it (with
//    OpenMP's, which is per thread) on entry and puts the previous value back on exit, so two
//    threads in scopes of different thread counts race on OpenBLAS' (results do not depend on
//    the thread count; only the speed does).
//  - The C library's malloc settings (ExecutionOptions::cpu_memory, retain_freed_cpu_memory in
//    engine/core/memory_policy.h) are applied when a context asking for them is made, for the
//    whole process, and never undone.
//
// Lifetimes: a tensor's storage keeps the allocator it came from alive (engine/tensor/
// allocator.h), so tensors may outlive the context that allocated them. Destroying a context
// waits for its streams. A CUDA tensor made under one context and used under another context of
// the same GPU crosses streams: synchronize() the first context before the second uses it.
#include <cstddef>
#include <memory>

#include "engine/core/device.h"
#include "engine/core/memory_policy.h"
#include "engine/tensor/allocator.h"

namespace mtmap {

class Backend;
namespace cuda {
class DeviceContext;
class Stream;
}  // namespace cuda

struct ExecutionOptions {
  // CPU contexts: threads of OpenBLAS and of the engine's OpenMP loops while the context is
  // current (a Use scope); 0: every core. Ignored by CUDA contexts.
  int num_threads = 0;
  // How the process returns freed CPU memory to the system, applied (process-wide) when the
  // context is made. The default leaves malloc as it is.
  CpuMemoryPolicy cpu_memory;
};

class ExecutionContext {
 public:
  // A context of `device` owned by the caller. Throws an mtmap::Error naming the device when it
  // cannot be used here (no CUDA in this build, no such GPU).
  explicit ExecutionContext(Device device, ExecutionOptions options = {});
  ~ExecutionContext();  // waits for the context's streams (CUDA)
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  // The context that runs `device`'s ops when no scope is open: made on first call (thread-safe)
  // and kept for the life of the process. Throws naming the device when it cannot be used.
  static ExecutionContext& default_for(const Device& device);
  // The context backend_of(device) uses on the calling thread: the innermost open Use scope of
  // a context of `device`, else default_for(device). On CUDA it also makes `device` the calling
  // thread's current CUDA device (kernels launch there).
  static ExecutionContext& current(const Device& device);

  // Makes `ctx` current for its device on this thread until the scope ends (nestable; the
  // previous context, and the thread count, come back on destruction, exceptions included).
  // Neither copyable nor movable: scopes end in the reverse order they began.
  class Use {
   public:
    explicit Use(ExecutionContext& ctx);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    friend class ExecutionContext;
    ExecutionContext* ctx_;
    Use* outer_;
    int saved_omp_threads_ = 0, saved_blas_threads_ = 0;
    bool threads_set_ = false;
  };

  const Device& device() const { return device_; }
  bool is_default() const { return is_default_; }
  const Backend& backend() const;
  // Where this context's tensors (and its kernels' scratch) come from.
  Allocator& allocator() const { return *allocator_; }
  // The threads CPU work uses while this context is current: its own count for a caller-owned
  // CPU context, the process's setting (num_threads(), engine/core/threads.h) otherwise.
  int num_threads() const;
  // Whether the memory policy asked for in the options took effect (false when none was asked,
  // or the C library has no such settings).
  bool memory_policy_applied() const { return memory_policy_applied_; }
  // Blocks the host until everything enqueued on the context's streams has run (rethrows a
  // kernel's error); nothing to wait for on the CPU.
  void synchronize() const;

  // CUDA only; on any other device an mtmap::Error naming the device. The streams are the
  // context's: work enqueued on them by the caller is ordered with the ops run in its scope.
  const cuda::Stream& compute_stream() const;
  const cuda::Stream& copy_stream() const;
  // The device state: cuBLAS handle, per-device caches (engine/cuda/context.h).
  cuda::DeviceContext& cuda_state() const;

 private:
  struct DefaultTag {};
  ExecutionContext(Device device, DefaultTag);
  void init_cuda();

  Device device_;
  ExecutionOptions options_;
  bool is_default_ = false;
  bool memory_policy_applied_ = false;
  std::shared_ptr<Allocator> owned_allocator_;  // CPU: this context's own; null for the default
  Allocator* allocator_ = nullptr;
  std::unique_ptr<Backend> cpu_backend_;
  std::shared_ptr<cuda::DeviceContext> cuda_;  // CUDA only (shared_ptr: deletable where incomplete)
};

}  // namespace mtmap
