// Philox random numbers on the GPU: element i is the same pure function of (seed, offset, i) as
// on the CPU (kernels/common/philox.h), so uniform is bit-identical across backends and normal
// agrees to the rounding of the two libms. randperm sorts (philox_pair key, index) pairs with
// CUB's radix sort, which is stable: ties keep index order, as the CPU's std::stable_sort does.
#include <cub/device/device_radix_sort.cuh>

#include "kernels/common/philox.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda {
namespace {

__device__ __forceinline__ int64_t first_index() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

template <class T>
__global__ void uniform_kernel(int64_t n, uint64_t seed, uint64_t offset, T* __restrict__ out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    if constexpr (std::is_same_v<T, float>)
      out[i] = philox_uniform_f32(seed, offset, i);
    else
      out[i] = philox_uniform_f64(seed, offset, i);
  }
}

template <class T>
__global__ void normal_kernel(int64_t n, uint64_t seed, uint64_t offset, T* __restrict__ out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    double v = philox_normal(seed, offset, i);  // in double on both backends, then rounded
    if constexpr (std::is_same_v<T, BFloat16>)
      out[i] = float_to_bf16(float(v));
    else
      out[i] = T(v);
  }
}

__global__ void randperm_keys_kernel(int64_t n, uint64_t seed, uint64_t offset, uint64_t* __restrict__ keys,
                                     int64_t* __restrict__ values) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    keys[i] = philox_pair(seed, offset, i);
    values[i] = i;
  }
}

// The workspace layout of randperm: keys in, keys out, values in (the values out are the output
// itself), then CUB's temporary storage; every piece starts on a 256-byte boundary.
constexpr size_t kAlign = 256;
constexpr size_t align_up(size_t b) { return (b + kAlign - 1) / kAlign * kAlign; }

size_t cub_temp_bytes(int64_t n) {
  size_t bytes = 0;
  // With a null temp pointer CUB only computes the size; nothing is read or launched.
  detail::check_call(cub::DeviceRadixSort::SortPairs(
                         nullptr, bytes, static_cast<const uint64_t*>(nullptr), static_cast<uint64_t*>(nullptr),
                         static_cast<const int64_t*>(nullptr), static_cast<int64_t*>(nullptr), n),
                     "randperm", "cub::DeviceRadixSort::SortPairs (size query)");
  return bytes;
}

}  // namespace

void uniform(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out, cudaStream_t stream) {
  if (n == 0) return;
  unsigned grid = detail::blocks_for(n);
  if (t == DType::f32)
    launch_kernel(uniform_kernel<float>, dim3(grid), dim3(detail::kThreads), 0, stream, n, seed, offset, static_cast<float*>(out));
  else if (t == DType::f64)
    launch_kernel(uniform_kernel<double>, dim3(grid), dim3(detail::kThreads), 0, stream, n, seed, offset, static_cast<double*>(out));
  else
    detail::unsupported("uniform", t);  // bf16 would round values near 1 up to 1.0, outside [0, 1)
  detail::check_launch("uniform");
}

void normal(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out, cudaStream_t stream) {
  if (n == 0) return;
  detail::float_switch("normal", t, [&](auto zero) {
    using T = decltype(zero);
    launch_kernel(normal_kernel<T>, dim3(detail::blocks_for(n)), dim3(detail::kThreads), 0, stream, n, seed, offset, static_cast<T*>(out));
    detail::check_launch("normal");
  });
}

size_t randperm_workspace_bytes(int64_t n) {
  size_t keys = align_up(size_t(n) * sizeof(uint64_t)), values = align_up(size_t(n) * sizeof(int64_t));
  return 2 * keys + values + align_up(cub_temp_bytes(n));
}

void randperm(int64_t n, uint64_t seed, uint64_t offset, int64_t* out, void* workspace, size_t workspace_bytes,
              cudaStream_t stream) {
  if (n == 0) return;
  size_t need = randperm_workspace_bytes(n);
  if (workspace_bytes < need)
    throw std::invalid_argument("cuda launcher randperm: workspace of " + std::to_string(workspace_bytes) + " bytes, " +
                                std::to_string(need) + " needed for n = " + std::to_string(n));
  char* base = static_cast<char*>(workspace);
  size_t keys_bytes = align_up(size_t(n) * sizeof(uint64_t)), values_bytes = align_up(size_t(n) * sizeof(int64_t));
  auto* keys_in = reinterpret_cast<uint64_t*>(base);
  auto* keys_out = reinterpret_cast<uint64_t*>(base + keys_bytes);
  auto* values_in = reinterpret_cast<int64_t*>(base + 2 * keys_bytes);
  void* temp = base + 2 * keys_bytes + values_bytes;
  size_t temp_bytes = workspace_bytes - (2 * keys_bytes + values_bytes);

  launch_kernel(randperm_keys_kernel, dim3(detail::blocks_for(n)), dim3(detail::kThreads), 0, stream, n, seed, offset, keys_in, values_in);
  detail::check_launch("randperm");
  detail::check_call(
      cub::DeviceRadixSort::SortPairs(temp, temp_bytes, keys_in, keys_out, values_in, out, n, 0, 64, stream),
      "randperm", "cub::DeviceRadixSort::SortPairs");
  detail::check_launch("randperm");
}

}  // namespace mtmap::cuda
