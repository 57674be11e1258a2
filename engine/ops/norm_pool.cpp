#include "engine/ops/norm_pool.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/autograd/node.h"
#include "engine/ops/checks.h"
#include "engine/backend/backend.h"

namespace mtmap {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

// The parameters and running statistics: one per channel, on x's device, in x's dtype or (mixed
// precision, bf16 activations on a GPU) in f32 for a bf16 x. `params` is the first of them.
void check_channel_vector(const char* what, const Tensor& t, const Tensor& x, const Tensor& params) {
  MTMAP_CHECK(t.shape() == Shape{x.shape()[1]}, "batch_norm: {} has shape {}, expected [{}] for input {}", what,
              shape_str(t.shape()), x.shape()[1], shape_str(x.shape()));
  if (x.dtype() == DType::bf16 && params.dtype() == DType::f32) {
    MTMAP_CHECK(t.dtype() == DType::f32, "batch_norm: {} is {}; with a bf16 input and f32 weight every parameter "
                "and running statistic is f32", what, dtype_name(t.dtype()));
    MTMAP_CHECK(x.device().is_cuda(), "batch_norm: a bf16 input with f32 parameters (mixed precision) runs on a "
                "CUDA device, not {}", x.device().str());
  } else {
    checks::same_dtype("batch_norm", x, t);
  }
  checks::same_device("batch_norm", {&x, &t});
}

// One body for every backend: statistics as double vectors (C) on x's device, the running
// statistics updated there in place; backward folds the fused ReLU's mask into its own pass.
Tensor batch_norm_on(const Backend& be, const Tensor& x_in, const Tensor& weight, const Tensor& bias,
                     const Tensor& running_mean, const Tensor& running_var, const BatchNormOptions& o,
                     const BatchNormShape& s) {
  const Device dev = x_in.device();
  Tensor x = x_in.detach().contiguous();
  Tensor w = weight.detach().contiguous(), b = bias.detach().contiguous();
  Tensor mean = empty({s.C}, DType::f64, dev), invstd = empty({s.C}, DType::f64, dev);
  Tensor y = empty(x.shape(), x.dtype(), dev);
  auto* mean_p = static_cast<double*>(mean.raw());
  auto* invstd_p = static_cast<double*>(invstd.raw());
  if (o.training) {
    MTMAP_CHECK(running_mean.is_contiguous() && running_var.is_contiguous(),
                "batch_norm: running statistics must be contiguous");
    be.bn_train_stats(x.dtype(), w.dtype(), s, x.raw(), o.eps, o.momentum, running_mean.raw(), running_var.raw(), mean_p,
                      invstd_p);
  } else {
    Tensor rm = running_mean.contiguous(), rv = running_var.contiguous();
    be.bn_eval_stats(w.dtype(), s.C, o.eps, rm.raw(), rv.raw(), mean_p, invstd_p);
  }
  be.bn_apply(x.dtype(), w.dtype(), s, x.raw(), mean_p, invstd_p, w.raw(), b.raw(), o.relu, y.raw());
  if (autograd::needs_grad({&x_in, &weight, &bias}))
    autograd::record("batch_norm", {x_in, weight, bias}, y,
                     [x, w, y_saved = o.relu ? y.detach() : Tensor(), mean, invstd, s, training = o.training](
                         const Tensor& g_in, const Needs& n) {
                       const Device dev = x.device();
                       Tensor g = g_in.contiguous();
                       Tensor dx = n[0] ? empty(x.shape(), x.dtype(), dev) : Tensor();
                       Tensor dw = n[1] ? empty(w.shape(), w.dtype(), dev) : Tensor();
                       Tensor db = n[2] ? empty(w.shape(), w.dtype(), dev) : Tensor();
                       backend_of(dev).bn_backward(x.dtype(), w.dtype(), s, training, x.raw(),
                                                   y_saved.defined() ? y_saved.raw() : nullptr, g.raw(),
                                                   static_cast<const double*>(mean.raw()),
                                                   static_cast<const double*>(invstd.raw()), w.raw(),
                                                   n[0] ? dx.raw() : nullptr, n[1] ? dw.raw() : nullptr,
                                                   n[2] ? db.raw() : nullptr);
                       return Grads{dx, dw, db};
                     });
  return y;
}

}  // namespace

Tensor batch_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, const BatchNormOptions& o) {
  MTMAP_CHECK(x_in.ndim() >= 2, "batch_norm: input {} needs (N, C, ...)", shape_str(x_in.shape()));
  checks::floating("batch_norm", x_in);
  check_channel_vector("weight", weight, x_in, weight);
  check_channel_vector("bias", bias, x_in, weight);
  check_channel_vector("running_mean", running_mean, x_in, weight);
  check_channel_vector("running_var", running_var, x_in, weight);
  BatchNormShape s{x_in.shape()[0], x_in.shape()[1], x_in.numel() / std::max<int64_t>(1, x_in.shape()[0] * x_in.shape()[1])};
  MTMAP_CHECK(!o.training || s.N * s.S > 1, "batch_norm: training needs more than one value per channel, input {}",
              shape_str(x_in.shape()));
  MTMAP_CHECK(s.N * s.C * s.S > 0, "batch_norm: empty input {} on {}", shape_str(x_in.shape()), x_in.device().str());
  return batch_norm_on(backend_of(x_in.device()), x_in, weight, bias, running_mean, running_var, o, s);
}

namespace {

Pool3dShape pool_shape(const Tensor& x, const char* op) {
  MTMAP_CHECK(x.ndim() == 5, "{}: input {} must be (N, C, D, H, W)", op, shape_str(x.shape()));
  Pool3dShape s;
  s.planes = x.shape()[0] * x.shape()[1];
  s.D = x.shape()[2], s.H = x.shape()[3], s.W = x.shape()[4];
  return s;
}

}  // namespace

Tensor max_pool3d(const Tensor& x_in, const Pool3dOptions& o) {
  checks::floating("max_pool3d", x_in);
  Pool3dShape s = pool_shape(x_in, "max_pool3d");
  for (int i = 0; i < 3; ++i)
    MTMAP_CHECK(o.kernel[size_t(i)] >= 1 && o.stride[size_t(i)] >= 1 && o.padding[size_t(i)] >= 0 &&
                    2 * o.padding[size_t(i)] <= o.kernel[size_t(i)],
                "max_pool3d: kernel [{}], stride [{}], padding [{}]: padding may be at most half the kernel",
                fmt::join(o.kernel, ", "), fmt::join(o.stride, ", "), fmt::join(o.padding, ", "));
  s.kd = o.kernel[0], s.kh = o.kernel[1], s.kw = o.kernel[2];
  s.sd = o.stride[0], s.sh = o.stride[1], s.sw = o.stride[2];
  s.pd = o.padding[0], s.ph = o.padding[1], s.pw = o.padding[2];
  s.Z = (s.D + 2 * s.pd - s.kd) / s.sd + 1;
  s.P = (s.H + 2 * s.ph - s.kh) / s.sh + 1;
  s.Q = (s.W + 2 * s.pw - s.kw) / s.sw + 1;
  MTMAP_CHECK(s.Z > 0 && s.P > 0 && s.Q > 0, "max_pool3d: input {} smaller than the kernel [{}]", shape_str(x_in.shape()),
              fmt::join(o.kernel, ", "));
  Tensor x = x_in.detach().contiguous();
  const Device dev = x.device();
  Shape out_shape{x.shape()[0], x.shape()[1], s.Z, s.P, s.Q};
  Tensor y = empty(out_shape, x.dtype(), dev);
  Tensor argmax = empty(out_shape, DType::i64, dev);
  auto* am = static_cast<int64_t*>(argmax.raw());
  backend_of(dev).max_pool3d(x.dtype(), s, x.raw(), y.raw(), am);
  if (autograd::needs_grad({&x_in}))
    autograd::record("max_pool3d", {x_in}, y, [s, argmax, in_shape = x.shape()](const Tensor& g, const Needs&) {
      Tensor gc = g.contiguous();
      const Device dev = gc.device();
      Tensor dx = empty(in_shape, g.dtype(), dev);
      auto* am = static_cast<const int64_t*>(argmax.raw());
      backend_of(dev).max_pool3d_backward(g.dtype(), s, gc.raw(), am, dx.raw());
      return Grads{dx};
    });
  return y;
}

Tensor adaptive_avg_pool3d(const Tensor& x_in, const std::array<int64_t, 3>& output) {
  checks::floating("adaptive_avg_pool3d", x_in);
  Pool3dShape s = pool_shape(x_in, "adaptive_avg_pool3d");
  s.Z = output[0], s.P = output[1], s.Q = output[2];
  MTMAP_CHECK(s.Z >= 1 && s.P >= 1 && s.Q >= 1 && s.D >= 1 && s.H >= 1 && s.W >= 1,
              "adaptive_avg_pool3d: output [{}] for input {}", fmt::join(output, ", "), shape_str(x_in.shape()));
  Tensor x = x_in.detach().contiguous();
  const Device dev = x.device();
  Tensor y = empty({x.shape()[0], x.shape()[1], s.Z, s.P, s.Q}, x.dtype(), dev);
  backend_of(dev).adaptive_avg_pool3d(x.dtype(), s, x.raw(), y.raw());
  if (autograd::needs_grad({&x_in}))
    autograd::record("adaptive_avg_pool3d", {x_in}, y, [s, in_shape = x.shape()](const Tensor& g, const Needs&) {
      Tensor gc = g.contiguous();
      const Device dev = gc.device();
      Tensor dx = empty(in_shape, g.dtype(), dev);
      backend_of(dev).adaptive_avg_pool3d_backward(g.dtype(), s, gc.raw(), dx.raw());
      return Grads{dx};
    });
  return y;
}

}  // namespace mtmap
