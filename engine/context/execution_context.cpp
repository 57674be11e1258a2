#include "engine/context/execution_context.h"

#include <cblas.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <vector>

#include "engine/backend/cpu_backend.h"
#include "engine/core/device_support.h"
#include "engine/core/error.h"
#include "engine/core/threads.h"

#ifdef MTMAP_WITH_CUDA
#include "engine/cuda/context.h"
#endif

namespace mtmap {
namespace {

// The calling thread's open scopes, innermost first (linked through Use::outer_).
thread_local ExecutionContext::Use* innermost = nullptr;

void apply_memory_policy(const CpuMemoryPolicy& p, bool& applied) {
  if (p.retain_freed) applied = retain_freed_cpu_memory(p.max_block_bytes, p.keep_bytes);
}

}  // namespace

ExecutionContext::ExecutionContext(Device device, ExecutionOptions options)
    : device_(device), options_(options) {
  MTMAP_CHECK(options.num_threads >= 0, "execution context on {}: {} threads requested", device.str(),
              options.num_threads);
  require_device(device, "execution context");
  if (device.is_cpu()) {
    owned_allocator_ = make_cpu_allocator();
    allocator_ = owned_allocator_.get();
    cpu_backend_ = std::make_unique<CpuBackend>(*allocator_);
  } else {
    init_cuda();
  }
  apply_memory_policy(options.cpu_memory, memory_policy_applied_);
}

ExecutionContext::ExecutionContext(Device device, DefaultTag) : device_(device), is_default_(true) {
  require_device(device, "execution context");
  if (device.is_cpu()) {
    allocator_ = &cpu_allocator();
    cpu_backend_ = std::make_unique<CpuBackend>(*allocator_);
  } else {
    init_cuda();
  }
}

void ExecutionContext::init_cuda() {
#ifdef MTMAP_WITH_CUDA
  cuda_ = std::make_shared<cuda::DeviceContext>(device_.index);
  allocator_ = &cuda_->allocator();
#else
  MTMAP_FAIL("execution context: {} requested, but this build of mtmap has no CUDA backend", device_.str());
#endif
}

ExecutionContext::~ExecutionContext() {
  // Scopes must end before their context; one still open on this thread is a caller's bug that
  // would leave backend_of pointing at freed memory.
  for (Use* u = innermost; u; u = u->outer_)
    if (u->ctx_ == this) {
      std::fprintf(stderr, "mtmap: execution context on %s destroyed inside a scope that uses it\n",
                   device_.str().c_str());
      std::terminate();
    }
  // cuda_'s destructor waits for its streams.
}

ExecutionContext& ExecutionContext::default_for(const Device& device) {
  if (device.is_cpu()) {
    static ExecutionContext cpu(Device::cpu(), DefaultTag{});
    return cpu;
  }
  require_device(device, "execution context");
  // Deliberately leaked: destroying CUDA state from a static destructor races the CUDA runtime's
  // own teardown at exit (frees then fail with cudaErrorCudartUnloading). The driver reclaims
  // everything when the process ends.
  static std::mutex* mutex = new std::mutex;
  static auto* defaults = new std::vector<std::unique_ptr<ExecutionContext>>;
  std::lock_guard<std::mutex> lock(*mutex);
  if (defaults->size() <= size_t(device.index)) defaults->resize(size_t(device.index) + 1);
  auto& slot = (*defaults)[size_t(device.index)];
  if (!slot) slot.reset(new ExecutionContext(device, DefaultTag{}));
  return *slot;
}

ExecutionContext& ExecutionContext::current(const Device& device) {
  ExecutionContext* ctx = nullptr;
  for (Use* u = innermost; u && !ctx; u = u->outer_)
    if (u->ctx_->device_ == device) ctx = u->ctx_;
  if (!ctx) ctx = &default_for(device);
#ifdef MTMAP_WITH_CUDA
  // Kernels launch on the calling thread's current device: make it the one whose stream the
  // caller is about to use (a no-op in the single-GPU case).
  if (ctx->cuda_) ctx->cuda_->make_current();
#endif
  return *ctx;
}

ExecutionContext::Use::Use(ExecutionContext& ctx) : ctx_(&ctx), outer_(innermost) {
  if (ctx.device_.is_cpu() && !ctx.is_default_) {
    // OpenMP's count is the calling thread's; OpenBLAS' is the process's (docs/engine.md).
    saved_omp_threads_ = omp_get_max_threads();
    saved_blas_threads_ = openblas_get_num_threads();
    const int n = ctx.num_threads();
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
    threads_set_ = true;
  }
  innermost = this;
}

ExecutionContext::Use::~Use() {
  if (innermost == this) {
    innermost = outer_;
  } else {  // not the innermost (a scope outlived by an inner one): unlink it where it is
    for (Use* u = innermost; u; u = u->outer_)
      if (u->outer_ == this) {
        u->outer_ = outer_;
        break;
      }
  }
  if (threads_set_) {
    openblas_set_num_threads(saved_blas_threads_);
    omp_set_num_threads(saved_omp_threads_);
  }
}

const Backend& ExecutionContext::backend() const {
#ifdef MTMAP_WITH_CUDA
  if (cuda_) return cuda_->backend();
#endif
  return *cpu_backend_;
}

int ExecutionContext::num_threads() const {
  if (device_.is_cpu() && !is_default_) return options_.num_threads > 0 ? options_.num_threads : omp_get_num_procs();
  return mtmap::num_threads();
}

void ExecutionContext::synchronize() const {
#ifdef MTMAP_WITH_CUDA
  if (cuda_) cuda_->synchronize();
#endif
}

cuda::DeviceContext& ExecutionContext::cuda_state() const {
  MTMAP_CHECK(cuda_ != nullptr, "execution context on {}: no CUDA streams or device state (a CUDA context's)",
              device_.str());
  return *cuda_;
}

#ifdef MTMAP_WITH_CUDA
const cuda::Stream& ExecutionContext::compute_stream() const { return cuda_state().compute_stream(); }
const cuda::Stream& ExecutionContext::copy_stream() const { return cuda_state().copy_stream(); }
#else
// No CUDA context exists in this build: cuda_state() throws, naming the device.
const cuda::Stream& ExecutionContext::compute_stream() const {
  cuda_state();
  std::abort();
}
const cuda::Stream& ExecutionContext::copy_stream() const {
  cuda_state();
  std::abort();
}
#endif

}  // namespace mtmap
