#pragma once
// 3D convolution, NCDHW activations (D = time) and (K, C, T, R, S) weights, no bias (add one
// with a broadcast add). Differentiable in both the input and the weights.
#include <array>

#include "engine/tensor/tensor.h"
#include "kernels/common/conv3d_config.h"
#include "kernels/common/conv3d_problem.h"

namespace mtmap {

struct Conv3dOptions {
  std::array<int64_t, 3> stride{1, 1, 1};    // (time, height, width)
  std::array<int64_t, 3> padding{0, 0, 0};
  std::array<int64_t, 3> dilation{1, 1, 1};
  CpuConvAlgo cpu_algo = CpuConvAlgo::fast;  // reference / gemm / direct: for tests and benchmarks
  // CUDA tensors: algorithm and TF32 permission (kernels/common/conv3d_config.h). The default runs
  // bf16 on tensor cores and f32 / f64 exactly (the analytic kernel).
  CudaConvConfig cuda{};
};

// Validates the shapes (naming them) and builds the problem.
Conv3dProblem conv3d_problem(const Shape& x, const Shape& w, const Conv3dOptions& o);

Tensor conv3d(const Tensor& x, const Tensor& w, const Conv3dOptions& o = {});  // (N,C,D,H,W), (K,C,T,R,S)
// The two backward passes as ops of their own (not differentiable themselves); `o` supplies the
// CPU algorithm and the CUDA configuration (its stride / padding / dilation are already in p).
Tensor conv3d_dgrad(const Tensor& dy, const Tensor& w, const Conv3dProblem& p, const Conv3dOptions& o);  // → (N,C,D,H,W)
Tensor conv3d_wgrad(const Tensor& x, const Tensor& dy, const Conv3dProblem& p, const Conv3dOptions& o);  // → (K,C,T,R,S)
// The same with only a CPU algorithm chosen (CUDA tensors get the default configuration).
Tensor conv3d_dgrad(const Tensor& dy, const Tensor& w, const Conv3dProblem& p, CpuConvAlgo algo);
Tensor conv3d_wgrad(const Tensor& x, const Tensor& dy, const Conv3dProblem& p, CpuConvAlgo algo);

}  // namespace mtmap
