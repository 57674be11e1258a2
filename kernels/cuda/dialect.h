#pragma once
// What a kernel file includes for the CUDA dialect: the CUDA runtime when nvcc compiles it, or the
// CPU emulator's stand-in for it (tests/cuda_emu/emulator/include/cuda_runtime.h, first on the
// include path of every emulated target) when a test compiles the same kernel templates with
// MTMAP_CUDA_EMU to run them without a GPU; the kernels name no test code. Also the few constructs
// the two spell differently: a launch, dynamic shared memory, and whether tensor-core code is
// compiled in.
#include <cuda_runtime.h>

#include <cstddef>
#include <tuple>
#include <utility>

#if defined(__CUDACC__) && !defined(MTMAP_CUDA_EMU)
#include <cooperative_groups.h>
#endif

// Tensor-core (mma.sync bf16/tf32, ldmatrix, cp.async) code: sm_80 and later, or the emulator.
#if defined(MTMAP_CUDA_EMU) || (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800)
#define MTMAP_SM80_CODE 1
#else
#define MTMAP_SM80_CODE 0
#endif

// cooperative_groups::this_grid().sync(), in a kernel launched with launch_cooperative_kernel.
#if defined(MTMAP_CUDA_EMU)
#define MTMAP_GRID_SYNC() ::mtmap::emu::sync_grid()
#else
#define MTMAP_GRID_SYNC() ::cooperative_groups::this_grid().sync()
#endif

// The block's dynamic shared memory as `type* name`.
#if defined(MTMAP_CUDA_EMU)
#define MTMAP_DYNAMIC_SMEM(type, name) type* name = static_cast<type*>(::mtmap::emu::dynamic_shared_memory())
#else
#define MTMAP_DYNAMIC_SMEM(type, name)              \
  extern __shared__ __align__(128) unsigned char mtmap_dynamic_smem_[]; \
  type* name = reinterpret_cast<type*>(mtmap_dynamic_smem_)
#endif

#if defined(MTMAP_CUDA_EMU) || defined(__CUDACC__)  // host-only files include this for the types
namespace mtmap::cuda {

// kernel<<<grid, block, smem, stream>>>(args...), or its emulation.
template <class... P, class... A>
inline void launch_kernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                          A&&... args) {
#if defined(MTMAP_CUDA_EMU)
  (void)stream;
  ::mtmap::emu::launch(kernel, grid, block, smem, false, std::forward<A>(args)...);
#else
  kernel<<<grid, block, smem, stream>>>(std::forward<A>(args)...);
#endif
}

// A cooperative launch (every block resident at once; grid_sync() allowed). The caller checks
// that the grid fits (cudaOccupancyMaxActiveBlocksPerMultiprocessor × multiprocessors).
template <class... P, class... A>
inline cudaError_t launch_cooperative_kernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
                                             cudaStream_t stream, A&&... args) {
#if defined(MTMAP_CUDA_EMU)
  (void)stream;
  ::mtmap::emu::launch(kernel, grid, block, smem, true, std::forward<A>(args)...);
  return cudaSuccess;
#else
  std::tuple<P...> params(std::forward<A>(args)...);
  return std::apply(
      [&](auto&... p) {
        void* ptrs[] = {static_cast<void*>(&p)...};
        return cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(kernel), grid, block, ptrs, smem, stream);
      },
      params);
#endif
}

}  // namespace mtmap::cuda
#endif
