#pragma once
#include "kernels/common/conv3d_problem.h"

namespace mtmap::cpu {

template <class T>
void conv3d_fprop_reference(const Conv3dProblem& p, const T* x, const T* w, T* y);
template <class T>
void conv3d_dgrad_reference(const Conv3dProblem& p, const T* dy, const T* w, T* dx);
template <class T>
void conv3d_wgrad_reference(const Conv3dProblem& p, const T* x, const T* dy, T* dw);

}  // namespace mtmap::cpu
