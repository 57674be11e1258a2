#pragma once
// The layers the 3D ResNet is built from. Initialisation draws from an explicit Generator.
#include "engine/nn/module.h"
#include "engine/ops/conv3d.h"
#include "engine/ops/norm_pool.h"
#include "engine/random/generator.h"

namespace mtmap::nn {

// y = x·Wᵀ + b, W (out, in). PyTorch's default init: U(±1/√in) for W and b.
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias, Generator& gen, DType dtype = DType::f32);
  Tensor forward(const Tensor& x) const;  // (..., in) → (..., out)
  Tensor weight, bias;
};

// No bias (BN follows every convolution in the model). Kaiming normal, fan_out, ReLU gain:
// std = √(2 / (K·T·R·S)).
class Conv3d : public Module {
 public:
  Conv3d(int64_t in, int64_t out, std::array<int64_t, 3> kernel, std::array<int64_t, 3> stride,
         std::array<int64_t, 3> padding, Generator& gen, DType dtype = DType::f32);
  Tensor forward(const Tensor& x) const;  // (N, C, D, H, W)
  Tensor weight;
  Conv3dOptions options;
  // Mixed precision (training.precision = "bf16"): the input and the weight are rounded to bf16
  // for the convolution (fp32 accumulation in the kernels), the result converted back to the
  // input's dtype; the weight itself, and the gradients reaching it, stay in its own dtype. On
  // CUDA the bf16 kernels run; on the CPU the same roundings are applied around a convolution in
  // the input's dtype (a reference for tests, not a speed-up).
  bool bf16_operands = false;
  // With bf16_operands, bf16 activations: on CUDA the result stays bf16 (the kernels' own output,
  // half the memory of f32) instead of being converted back; a bf16 input is taken as it is. On
  // the CPU nothing changes: the result is already rounded to bf16 values.
  bool bf16_output = false;
};

// Parameters weight (1) and bias (0), buffers running_mean, running_var, num_batches_tracked:
// torchvision's names, so state dicts match.
class BatchNorm3d : public Module {
 public:
  BatchNorm3d(int64_t channels, DType dtype = DType::f32, double momentum = 0.1, double eps = 1e-5);
  Tensor forward(const Tensor& x, bool relu = false) const;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  double momentum, eps;
};

}  // namespace mtmap::nn
