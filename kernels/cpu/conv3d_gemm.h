#pragma once
// vol2col + OpenBLAS GEMM implementations of the three convolution operators, one sample at a
// time (conv3d_gemm.cpp). float and double; outputs overwritten; deterministic.
#include "kernels/common/conv3d_problem.h"

namespace mtmap::cpu {

template <class T>
void fprop_gemm(const Conv3dProblem& p, const T* x, const T* w, T* y);
template <class T>
void dgrad_gemm(const Conv3dProblem& p, const T* dy, const T* w, T* dx);
template <class T>
void wgrad_gemm(const Conv3dProblem& p, const T* x, const T* dy, T* dw);

}  // namespace mtmap::cpu
