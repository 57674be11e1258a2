#pragma once
// What a kernel file includes for the CUDA dialect: the CUDA runtime when nvcc compiles it, or the
// CPU emulator (kernels/cuda_emu/emu.h) when a test compiles the same kernel templates with
// MTMAP_CUDA_EMU to run them without a GPU. Also the few constructs the two spell differently:
// a launch, dynamic shared memory, and whether tensor-core code is compiled in.
#if defined(MTMAP_CUDA_EMU)
#include "kernels/cuda_emu/emu.h"
#else
#include <cuda_runtime.h>
#endif

#include <cstddef>
#include <utility>

// Tensor-core (mma.sync bf16/tf32, ldmatrix, cp.async) code: sm_80 and later, or the emulator.
#if defined(MTMAP_CUDA_EMU) || (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800)
#define MTMAP_SM80_CODE 1
#else
#define MTMAP_SM80_CODE 0
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
  ::mtmap::emu::launch(kernel, grid, block, smem, std::forward<A>(args)...);
#else
  kernel<<<grid, block, smem, stream>>>(std::forward<A>(args)...);
#endif
}

}  // namespace mtmap::cuda
#endif
