// Unary and scalar elementwise ops: one kernel (UnaryOp) per formula, backward rules from ops.
#include "engine/autograd/node.h"
#include "engine/ops/broadcast.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"

namespace mtmap {
namespace {

Tensor launch_unary(const char* name, const Tensor& x, UnaryOp op, double a = 0, double b = 0) {
  checks::floating(name, x);
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  UnaryParams p;
  p.op = op;
  p.a = a;
  p.b = b;
  p.n = x.numel();
  p.in = x.indexer();
  if (p.n == 0) return out;
  backend_of(x.device()).unary(x.dtype(), p, x.raw(), out.raw());
  return out;
}

Tensor zero_like_scalar(const Tensor& t) { return scalar_tensor(0.0, t.dtype(), t.device()); }

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

// y = scale * x + shift
Tensor launch_affine(const Tensor& x, double scale, double shift) {
  Tensor out = launch_unary("affine", x, UnaryOp::affine, scale, shift);
  if (autograd::needs_grad({&x}))
    autograd::record("affine", {x}, out, [scale](const Tensor& g, const Needs&) { return Grads{mul(g, scale)}; });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, double s) { return launch_affine(a, 1.0, s); }
Tensor sub(const Tensor& a, double s) { return launch_affine(a, 1.0, -s); }
Tensor mul(const Tensor& a, double s) { return launch_affine(a, s, 0.0); }
Tensor div(const Tensor& a, double s) { return launch_affine(a, 1.0 / s, 0.0); }
Tensor rsub(double s, const Tensor& a) { return launch_affine(a, -1.0, s); }
Tensor neg(const Tensor& a) { return launch_affine(a, -1.0, 0.0); }

Tensor exp(const Tensor& x) {
  Tensor out = launch_unary("exp", x, UnaryOp::exp);
  if (autograd::needs_grad({&x}))
    autograd::record("exp", {x}, out, [y = out.detach()](const Tensor& g, const Needs&) { return Grads{mul(g, y)}; });
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = launch_unary("log", x, UnaryOp::log);
  if (autograd::needs_grad({&x}))
    autograd::record("log", {x}, out, [x = x.detach()](const Tensor& g, const Needs&) { return Grads{div(g, x)}; });
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = launch_unary("sqrt", x, UnaryOp::sqrt);
  if (autograd::needs_grad({&x}))
    autograd::record("sqrt", {x}, out, [y = out.detach()](const Tensor& g, const Needs&) {
      return Grads{mul(g, rdiv(0.5, y))};
    });
  return out;
}

Tensor relu(const Tensor& x) {
  Tensor out = launch_unary("relu", x, UnaryOp::relu);
  if (autograd::needs_grad({&x}))
    autograd::record("relu", {x}, out, [x = x.detach()](const Tensor& g, const Needs&) {
      return Grads{relu_backward(g, x)};  // x > 0 exactly where relu(x) > 0
    });
  return out;
}

Tensor abs(const Tensor& x) {
  Tensor out = launch_unary("abs", x, UnaryOp::abs);
  if (autograd::needs_grad({&x}))
    autograd::record("abs", {x}, out, [x = x.detach()](const Tensor& g, const Needs&) {
      return Grads{mul(g, sign(x))};
    });
  return out;
}

Tensor sign(const Tensor& x) {
  Tensor out = launch_unary("sign", x, UnaryOp::sign);
  if (autograd::needs_grad({&x}))
    autograd::record("sign", {x}, out, [](const Tensor& g, const Needs&) { return Grads{zeros_like(g)}; });
  return out;
}

Tensor pow(const Tensor& x, double e) {
  Tensor out = launch_unary("pow", x, UnaryOp::pow_scalar, e);
  if (autograd::needs_grad({&x}))
    autograd::record("pow_scalar", {x}, out, [x = x.detach(), e](const Tensor& g, const Needs&) {
      return Grads{mul(g, mul(pow(x, e - 1.0), e))};
    });
  return out;
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  MTMAP_CHECK(lo <= hi, "clamp: lower bound {} above upper bound {}", lo, hi);
  Tensor out = launch_unary("clamp", x, UnaryOp::clamp, lo, hi);
  if (autograd::needs_grad({&x}))
    autograd::record("clamp", {x}, out, [x = x.detach(), lo, hi](const Tensor& g, const Needs&) {
      Tensor zero = zero_like_scalar(g);
      return Grads{where(lt(x, lo), zero, where(gt(x, hi), zero, g))};
    });
  return out;
}

Tensor rdiv(double s, const Tensor& x) {
  Tensor out = launch_unary("rdiv", x, UnaryOp::reciprocal, s);
  if (autograd::needs_grad({&x}))
    autograd::record("rdiv", {x}, out, [x = x.detach(), y = out.detach()](const Tensor& g, const Needs&) {
      return Grads{neg(div(mul(g, y), x))};
    });
  return out;
}

}  // namespace mtmap
