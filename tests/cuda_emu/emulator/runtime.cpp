// The emulated CUDA runtime (runtime.h): device memory is host memory registered with the
// emulator's global-read checks; every operation completes before it returns.
#include "tests/cuda_emu/emulator/runtime.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

#include "tests/cuda_emu/emulator/emu.h"

namespace {

// Allocations of cudaMalloc, each registered as device memory for as long as it lives.
struct Allocations {
  std::mutex mu;
  std::map<void*, std::unique_ptr<mtmap::emu::DeviceBuffer>> live;
};
// Never destroyed: the engine frees device memory from static destructors at exit.
Allocations& allocations() {
  static Allocations* a = new Allocations;
  return *a;
}

thread_local cudaError_t g_last = cudaSuccess;
thread_local int g_device = 0;

cudaError_t fail(cudaError_t e) {
  g_last = e;
  return e;
}

// Streams and events are distinct objects so handles compare as on the GPU; nothing queues on them.
struct Handle {
  int kind;
};

}  // namespace

cudaError_t cudaGetLastError() {
  cudaError_t e = g_last;
  g_last = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return g_last; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorCudartUnloading: return "cudaErrorCudartUnloading";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    default: return "emulated CUDA error";
  }
}

cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* d) {
  *d = g_device;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) {
  if (d != 0) return fail(cudaErrorInvalidDevice);
  g_device = d;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) {
  if (d != 0) return fail(cudaErrorInvalidDevice);
  *p = cudaDeviceProp{};
  std::strncpy(p->name, "mtmap CPU emulator", sizeof p->name - 1);
  p->totalGlobalMem = size_t(8) << 30;
  p->major = 9, p->minor = 0, p->multiProcessorCount = mtmap::emu::kSms;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int d) {
  if (d != 0) return fail(cudaErrorInvalidDevice);
  switch (a) {
    case cudaDevAttrComputeCapabilityMajor: *v = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *v = 0; break;
    case cudaDevAttrMultiProcessorCount: *v = mtmap::emu::kSms; break;
    case cudaDevAttrCooperativeLaunch: *v = 1; break;
  }
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

namespace mtmap::emu {
namespace {
struct SmemLimits {
  std::mutex mu;
  int device_max = 227 * 1024;
  std::map<const void*, int> opted_in;  // kernel → its cudaFuncAttributeMaxDynamicSharedMemorySize
};
SmemLimits& smem_limits() {
  static SmemLimits* l = new SmemLimits;
  return *l;
}
}  // namespace

void check_dynamic_smem(const void* kernel, size_t bytes) {
  if (bytes <= 48 * 1024) return;
  auto& l = smem_limits();
  std::lock_guard<std::mutex> lock(l.mu);
  auto it = l.opted_in.find(kernel);
  const int allowed = it == l.opted_in.end() ? 48 * 1024 : it->second;
  if (bytes > size_t(allowed))
    throw std::invalid_argument("cuda emulator: launch with " + std::to_string(bytes) +
                                " bytes of dynamic shared memory; the kernel opted in to " + std::to_string(allowed));
}
}  // namespace mtmap::emu

cudaError_t emu_func_set_max_dynamic_smem(const void* func, int bytes) {
  auto& l = mtmap::emu::smem_limits();
  std::lock_guard<std::mutex> lock(l.mu);
  if (bytes < 0 || bytes > l.device_max) return fail(cudaErrorInvalidValue);
  l.opted_in[func] = bytes;
  return cudaSuccess;
}

void emu_set_max_dynamic_smem(int bytes) {
  auto& l = mtmap::emu::smem_limits();
  std::lock_guard<std::mutex> lock(l.mu);
  l.device_max = bytes;
  l.opted_in.clear();
}
cudaError_t emu_occupancy(int* n) {
  *n = mtmap::emu::kBlocksPerSm;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
  // 256-byte aligned as cudaMalloc's; contents left as malloc leaves them (the GPU's are garbage too).
  void* q = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  if (!q) return fail(cudaErrorMemoryAllocation);
  auto& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  a.live[q] = std::make_unique<mtmap::emu::DeviceBuffer>(q, bytes);
  *p = q;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  auto& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  auto it = a.live.find(p);
  if (it == a.live.end()) return fail(cudaErrorInvalidValue);
  a.live.erase(it);
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) {
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, size_t bytes,
                                cudaStream_t) {
  if (dst_device != 0 || src_device != 0) return fail(cudaErrorInvalidDevice);
  return cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice);
}
cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  if (bytes) std::memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) { return cudaMemset(p, value, bytes); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = reinterpret_cast<cudaStream_t>(new Handle{1});
  return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, 0); }
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete reinterpret_cast<Handle*>(s);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = reinterpret_cast<cudaEvent_t>(new Handle{2});
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, 0); }
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete reinterpret_cast<Handle*>(e);
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
