#pragma once
// Products and sums that nvcc never fuses into an FMA (the round-to-nearest intrinsics), for
// kernels that must round exactly as the CPU reference, which is compiled without FMA contraction:
// the optimiser steps (bit-identical runs on both backends) and the batch-norm apply (the fused
// ReLU's mask, y > 0, must not flip on an FMA's different last bit next to 0).
#include "kernels/cuda/dialect.h"

namespace mtmap::cuda::detail {

__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float sub_rn(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double sub_rn(double a, double b) { return __dsub_rn(a, b); }

}  // namespace mtmap::cuda::detail
