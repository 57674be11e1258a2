#include "engine/core/device_support.h"

#include "engine/core/error.h"

#ifdef MTMAP_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace mtmap {

bool cuda_built() {
#ifdef MTMAP_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef MTMAP_WITH_CUDA
  // Counted once: the answer cannot change while the process runs.
  static const int count = [] {
    int n = 0;
    // No driver (cudaErrorInsufficientDriver) or no device (cudaErrorNoDevice) both mean zero.
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error state
      return 0;
    }
    return n;
  }();
  return count;
#else
  return 0;
#endif
}

void require_device(const Device& device, const char* what) {
  if (device.is_cpu()) return;
  MTMAP_CHECK(device.index >= 0, "{}: {} is not a device (negative index)", what, device.str());
  MTMAP_CHECK(cuda_built(), "{}: {} requested, but this build of mtmap has no CUDA backend", what, device.str());
  int n = cuda_device_count();
  MTMAP_CHECK(device.index < n, "{}: {} requested, but {} CUDA device{} found", what, device.str(),
              n == 0 ? std::string("no") : std::to_string(n), n == 1 ? " was" : "s were");
}

std::string cuda_device_name(int index) {
#ifdef MTMAP_WITH_CUDA
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, index) == cudaSuccess) return prop.name;
#endif
  (void)index;
  return "unknown";
}

}  // namespace mtmap
