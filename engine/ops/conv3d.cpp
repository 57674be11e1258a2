#include "engine/ops/conv3d.h"

#include "engine/autograd/node.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"

namespace mtmap {
namespace {

void check_output_gradient(const char* op, const Tensor& dy, const Conv3dProblem& p) {
  MTMAP_CHECK(dy.shape() == Shape({p.N, p.K, p.Z, p.P, p.Q}), "{}: gradient {} does not match the output [{}, {}, {}, {}, {}]",
              op, shape_str(dy.shape()), p.N, p.K, p.Z, p.P, p.Q);
}

Conv3dOptions with_cpu_algo(CpuConvAlgo algo) {
  Conv3dOptions o;
  o.cpu_algo = algo;
  return o;
}

}  // namespace

Conv3dProblem conv3d_problem(const Shape& x, const Shape& w, const Conv3dOptions& o) {
  MTMAP_CHECK(x.size() == 5 && w.size() == 5, "conv3d: input {} must be (N, C, D, H, W) and weight {} (K, C, T, R, S)",
              shape_str(x), shape_str(w));
  MTMAP_CHECK(x[1] == w[1], "conv3d: input {} has {} channels, weight {} expects {}", shape_str(x), x[1], shape_str(w),
              w[1]);
  for (int i = 0; i < 3; ++i)
    MTMAP_CHECK(o.stride[size_t(i)] >= 1 && o.dilation[size_t(i)] >= 1 && o.padding[size_t(i)] >= 0,
                "conv3d: stride [{}], padding [{}], dilation [{}] must be ≥ 1, ≥ 0, ≥ 1", fmt::join(o.stride, ", "),
                fmt::join(o.padding, ", "), fmt::join(o.dilation, ", "));
  Conv3dProblem p;
  p.N = x[0], p.C = x[1], p.D = x[2], p.H = x[3], p.W = x[4];
  p.K = w[0], p.T = w[2], p.R = w[3], p.S = w[4];
  p.stride_d = o.stride[0], p.stride_h = o.stride[1], p.stride_w = o.stride[2];
  p.pad_d = o.padding[0], p.pad_h = o.padding[1], p.pad_w = o.padding[2];
  p.dil_d = o.dilation[0], p.dil_h = o.dilation[1], p.dil_w = o.dilation[2];
  p.compute_output();
  MTMAP_CHECK(p.Z > 0 && p.P > 0 && p.Q > 0,
              "conv3d: input {} is smaller than the dilated kernel {} with padding [{}]: output would be [{}, {}, {}]",
              shape_str(x), shape_str(w), fmt::join(o.padding, ", "), p.Z, p.P, p.Q);
  return p;
}

Tensor conv3d(const Tensor& x_in, const Tensor& w_in, const Conv3dOptions& o) {
  checks::same_device("conv3d", {&x_in, &w_in});
  checks::same_dtype("conv3d", x_in, w_in);
  checks::floating("conv3d", x_in);
  Conv3dProblem p = conv3d_problem(x_in.shape(), w_in.shape(), o);
  Tensor x = x_in.detach().contiguous(), w = w_in.detach().contiguous();
  Tensor y = empty({p.N, p.K, p.Z, p.P, p.Q}, x.dtype(), x.device());
  if (y.numel() > 0) {
    backend_of(x.device()).conv3d_fprop(x.dtype(), p, o, x.raw(), w.raw(), y.raw());
  }
  if (autograd::needs_grad({&x_in, &w_in}))
    autograd::record("conv3d", {x_in, w_in}, y, [x, w, p, o](const Tensor& g, const std::vector<bool>& n) {
      Tensor gc = g.contiguous();
      return std::vector<Tensor>{n[0] ? conv3d_dgrad(gc, w, p, o) : Tensor(), n[1] ? conv3d_wgrad(x, gc, p, o) : Tensor()};
    });
  return y;
}

Tensor conv3d_dgrad(const Tensor& dy_in, const Tensor& w_in, const Conv3dProblem& p, const Conv3dOptions& o) {
  check_output_gradient("conv3d_dgrad", dy_in, p);
  checks::same_device("conv3d_dgrad", {&dy_in, &w_in});
  checks::same_dtype("conv3d_dgrad", dy_in, w_in);
  Tensor dy = dy_in.contiguous(), w = w_in.contiguous();
  Tensor dx = empty({p.N, p.C, p.D, p.H, p.W}, dy.dtype(), dy.device());
  if (dx.numel() > 0) {
    backend_of(dy.device()).conv3d_dgrad(dy.dtype(), p, o, dy.raw(), w.raw(), dx.raw());
  }
  return dx;
}

Tensor conv3d_wgrad(const Tensor& x_in, const Tensor& dy_in, const Conv3dProblem& p, const Conv3dOptions& o) {
  check_output_gradient("conv3d_wgrad", dy_in, p);
  checks::same_device("conv3d_wgrad", {&x_in, &dy_in});
  checks::same_dtype("conv3d_wgrad", x_in, dy_in);
  Tensor x = x_in.contiguous(), dy = dy_in.contiguous();
  Tensor dw = empty({p.K, p.C, p.T, p.R, p.S}, dy.dtype(), dy.device());
  if (dw.numel() > 0) {
    backend_of(dy.device()).conv3d_wgrad(dy.dtype(), p, o, x.raw(), dy.raw(), dw.raw());
  }
  return dw;
}

Tensor conv3d_dgrad(const Tensor& dy, const Tensor& w, const Conv3dProblem& p, CpuConvAlgo algo) {
  return conv3d_dgrad(dy, w, p, with_cpu_algo(algo));
}

Tensor conv3d_wgrad(const Tensor& x, const Tensor& dy, const Conv3dProblem& p, CpuConvAlgo algo) {
  return conv3d_wgrad(x, dy, p, with_cpu_algo(algo));
}

}  // namespace mtmap
