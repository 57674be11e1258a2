#pragma once
// 3D convolution on the CPU, NCDHW activations and KCTRS weights. Implementations:
//  - reference: direct loops, any float type; the yardstick every other kernel is checked against.
//  - gemm: vol2col per sample + OpenBLAS GEMM (multithreaded by OpenBLAS).
//  - direct: the AVX-512 direct kernels of conv3d_direct.h (float32): fprop and dgrad for stride 1,
//    wgrad (channels-last, register-blocked) for any stride and dilation.
//  - direct_channels_last: fprop and (stride-1) dgrad vectorised over output channels instead of
//    output columns (conv3d_fprop_channels_last.cpp): for rows too short to fill 16 lanes.
//  - fast (the default): direct where it applies, else gemm.
// dgrad and wgrad overwrite their outputs. Accumulation orders are fixed: deterministic.
#include "kernels/common/conv3d_config.h"
#include "kernels/common/conv3d_problem.h"
#include "kernels/common/dtype.h"

namespace mtmap::cpu {


void conv3d_fprop(DType t, CpuConvAlgo algo, const Conv3dProblem& p, const void* x, const void* w, void* y);
void conv3d_dgrad(DType t, CpuConvAlgo algo, const Conv3dProblem& p, const void* dy, const void* w, void* dx);
void conv3d_wgrad(DType t, CpuConvAlgo algo, const Conv3dProblem& p, const void* x, const void* dy, void* dw);

}  // namespace mtmap::cpu
