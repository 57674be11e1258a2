#include "engine/nn/layers.h"

#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/linalg.h"

namespace mtmap::nn {
namespace {

Tensor uniform(const Shape& shape, double bound, Generator& gen, DType dtype) {
  return sub(mul(rand(shape, gen, dtype), 2 * bound), bound).detach();
}

}  // namespace

Linear::Linear(int64_t in, int64_t out, bool with_bias, Generator& gen, DType dtype) {
  MTMAP_CHECK(in > 0 && out > 0, "Linear: sizes {} → {} must be positive", in, out);
  double bound = 1.0 / std::sqrt(double(in));
  weight = register_parameter("weight", uniform({out, in}, bound, gen, dtype));
  if (with_bias) bias = register_parameter("bias", uniform({out}, bound, gen, dtype), /*decay=*/false);
}

Tensor Linear::forward(const Tensor& x) const {
  MTMAP_CHECK(x.ndim() >= 1 && x.size(-1) == weight.size(1), "Linear: input {} does not end in {} features",
              shape_str(x.shape()), weight.size(1));
  Tensor y = matmul(x.ndim() == 1 ? x.unsqueeze(0) : x, weight.transpose(0, 1));
  if (x.ndim() == 1) y = y.squeeze(0);
  return bias.defined() ? add(y, bias) : y;
}

Conv3d::Conv3d(int64_t in, int64_t out, std::array<int64_t, 3> kernel, std::array<int64_t, 3> stride,
               std::array<int64_t, 3> padding, Generator& gen, DType dtype) {
  MTMAP_CHECK(in > 0 && out > 0, "Conv3d: channels {} → {} must be positive", in, out);
  options.stride = stride;
  options.padding = padding;
  double fan_out = double(out * kernel[0] * kernel[1] * kernel[2]);
  Tensor w = mul(randn({out, in, kernel[0], kernel[1], kernel[2]}, gen, dtype), std::sqrt(2.0 / fan_out)).detach();
  weight = register_parameter("weight", w);
}

Tensor Conv3d::forward(const Tensor& x) const {
  if (!bf16_operands) return conv3d(x, weight, options);
  // The casts are differentiable: the gradients come back through them in the input's and the
  // weight's own dtypes, rounded to bf16 where the kernels' would be (the output gradient going
  // in, the input and weight gradients coming out).
  if (x.device().is_cuda()) {
    Tensor y = conv3d(x.to(DType::bf16), weight.to(DType::bf16), options);
    return bf16_output ? y : y.to(x.dtype() == DType::bf16 ? weight.dtype() : x.dtype());
  }
  // The CPU has no bf16 convolution: the same roundings around a convolution in x's dtype, the
  // reference that tests hold the GPU's mixed precision to.
  const DType t = x.dtype();
  auto round = [t](const Tensor& v) { return v.to(DType::bf16).to(t); };
  return round(conv3d(round(x), round(weight.to(t)), options));
}

BatchNorm3d::BatchNorm3d(int64_t channels, DType dtype, double momentum_, double eps_) : momentum(momentum_), eps(eps_) {
  weight = register_parameter("weight", ones({channels}, dtype), /*decay=*/false);
  bias = register_parameter("bias", zeros({channels}, dtype), /*decay=*/false);
  running_mean = register_buffer("running_mean", zeros({channels}, dtype));
  running_var = register_buffer("running_var", ones({channels}, dtype));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::i64));
}

Tensor BatchNorm3d::forward(const Tensor& x, bool relu) const {
  BatchNormOptions o;
  o.training = training();
  o.momentum = momentum;
  o.eps = eps;
  o.relu = relu;
  if (o.training && num_batches_tracked.device().is_cpu()) ++num_batches_tracked.data<int64_t>()[0];
  return batch_norm(x, weight, bias, running_mean, running_var, o);
}

}  // namespace mtmap::nn
