#pragma once
// The choices a caller makes for a conv3d on each backend: the CPU's algorithm
// (kernels/cpu/conv3d.h describes them) and the CUDA configuration (kernels/cuda/conv3d.h). Kept
// free of CUDA headers so the engine's options can hold both in builds without CUDA.
#include <cstdint>

namespace mtmap {

// reference (direct loops, the yardstick), gemm (vol2col + OpenBLAS), direct (AVX-512),
// direct_channels_last, fast (direct where it applies, else gemm; the default).
enum class CpuConvAlgo : uint8_t { reference, gemm, direct, direct_channels_last, fast };

enum class CudaConvAlgo : uint8_t { automatic, analytic, implicit_gemm, stem };

struct CudaConvConfig {
  CudaConvAlgo algo = CudaConvAlgo::automatic;
  // f32 on tensor cores with TF32 operands (10-bit mantissa, f32 accumulation). Off by default:
  // PyTorch allows TF32 in cuDNN convolutions by default, but here f32 means f32 (as in the
  // engine's matmul); the fast training path is bf16, and f32 is the accuracy reference.
  bool allow_tf32 = false;
  // The tensor-core fprop, dgrad and wgrad with 16-byte operands run the cp.async multi-stage
  // kernel; false runs the register-staged one (what the benchmark compares it with).
  bool async_copy = true;
  // Strided dgrad (dilation 1) on tensor cores as one GEMM per stride phase, each over only the
  // taps that reach its positions (conv3d_igemm.h); false runs one GEMM over every tap, most of
  // them predicated zeros (what the benchmark compares it with).
  bool dgrad_stride_phases = true;
};

}  // namespace mtmap
