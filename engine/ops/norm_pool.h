#pragma once
// Batch normalisation and 3D pooling, on the CPU and on CUDA (kernels/{cpu,cuda}/batch_norm.h,
// kernels/{cpu,cuda}/pool3d.h).
#include <array>

#include "engine/tensor/tensor.h"

namespace mtmap {

struct BatchNormOptions {
  bool training = true;   // batch statistics (and update the running ones) vs running statistics
  double momentum = 0.1;  // running = (1 − momentum)·running + momentum·batch (unbiased variance)
  double eps = 1e-5;
  bool relu = false;      // fused max(·, 0) on the output
};

// x (N, C, ...) normalised per channel; weight, bias, running_mean, running_var (C). In training
// the running statistics are updated in place. Differentiable in x, weight and bias.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, const BatchNormOptions& o);

struct Pool3dOptions {
  std::array<int64_t, 3> kernel{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1};
  std::array<int64_t, 3> padding{0, 0, 0};
};

Tensor max_pool3d(const Tensor& x, const Pool3dOptions& o);                          // (N, C, D, H, W)
Tensor adaptive_avg_pool3d(const Tensor& x, const std::array<int64_t, 3>& output);  // (N, C, D, H, W)

}  // namespace mtmap
