// Binary elementwise ops with broadcasting, comparisons and where. Inputs keep their layout:
// the kernels read them through broadcast strides, so broadcasting costs no copy.
#include "engine/autograd/node.h"
#include "engine/ops/broadcast.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"

namespace mtmap {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

struct Broadcast {
  Shape shape;
  BinaryParams params;
};

Broadcast prepare(const char* name, const Tensor& a, const Tensor& b) {
  checks::same_device(name, {&a, &b});
  checks::same_dtype(name, a, b);
  Broadcast bc;
  bc.shape = broadcast_shapes(a.shape(), b.shape(), name);
  bc.params.n = shape_numel(bc.shape);
  bc.params.a = broadcast_to(a, bc.shape, name).indexer();
  bc.params.b = broadcast_to(b, bc.shape, name).indexer();
  return bc;
}

Tensor launch_binary(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  Broadcast bc = prepare(name, a, b);
  checks::floating(name, a);
  Tensor out = empty(bc.shape, a.dtype(), a.device());
  if (bc.params.n == 0) return out;
  backend_of(a.device()).binary(a.dtype(), op, bc.params, a.raw(), b.raw(), out.raw());
  return out;
}

Tensor launch_compare(const char* name, CompareOp op, const Tensor& a, const Tensor& b) {
  Broadcast bc = prepare(name, a, b);
  checks::floating(name, a);
  Tensor out = empty(bc.shape, DType::u8, a.device());
  if (bc.params.n == 0) return out;
  auto* o = static_cast<uint8_t*>(out.raw());
  backend_of(a.device()).compare(a.dtype(), op, bc.params, a.raw(), b.raw(), o);
  return out;
}

Tensor zero_like_scalar(const Tensor& t) { return scalar_tensor(0.0, t.dtype(), t.device()); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = launch_binary("add", BinaryOp::add, a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record("add", {a, b}, out, [sa = a.shape(), sb = b.shape()](const Tensor& g, const Needs& n) {
      return Grads{n[0] ? sum_to_shape(g, sa) : Tensor(), n[1] ? sum_to_shape(g, sb) : Tensor()};
    });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = launch_binary("sub", BinaryOp::sub, a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record("sub", {a, b}, out, [sa = a.shape(), sb = b.shape()](const Tensor& g, const Needs& n) {
      return Grads{n[0] ? sum_to_shape(g, sa) : Tensor(), n[1] ? sum_to_shape(neg(g), sb) : Tensor()};
    });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = launch_binary("mul", BinaryOp::mul, a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record("mul", {a, b}, out, [a = a.detach(), b = b.detach()](const Tensor& g, const Needs& n) {
      return Grads{n[0] ? sum_to_shape(mul(g, b), a.shape()) : Tensor(),
                   n[1] ? sum_to_shape(mul(g, a), b.shape()) : Tensor()};
    });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = launch_binary("div", BinaryOp::div, a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record("div", {a, b}, out,
                     [a_shape = a.shape(), b = b.detach(), y = out.detach()](const Tensor& g, const Needs& n) {
                       Tensor gb = n[1] ? sum_to_shape(neg(div(mul(g, y), b)), b.shape()) : Tensor();
                       return Grads{n[0] ? sum_to_shape(div(g, b), a_shape) : Tensor(), gb};
                     });
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = launch_binary("pow", BinaryOp::pow, a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record("pow", {a, b}, out,
                     [a = a.detach(), b = b.detach(), y = out.detach()](const Tensor& g, const Needs& n) {
                       Tensor ga, gb;
                       if (n[0]) ga = sum_to_shape(mul(g, mul(b, pow(a, sub(b, 1.0)))), a.shape());
                       if (n[1]) gb = sum_to_shape(mul(g, mul(y, log(a))), b.shape());
                       return Grads{ga, gb};
                     });
  return out;
}

static Tensor select_grad(const char* name, BinaryOp op, CompareOp pick_a, const Tensor& a, const Tensor& b) {
  Tensor out = launch_binary(name, op, a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record(name, {a, b}, out,
                     [a = a.detach(), b = b.detach(), pick_a](const Tensor& g, const Needs& n) {
                       Tensor mask = launch_compare("select_grad", pick_a, a, b);
                       Tensor zero = zero_like_scalar(g);
                       return Grads{n[0] ? sum_to_shape(where(mask, g, zero), a.shape()) : Tensor(),
                                    n[1] ? sum_to_shape(where(mask, zero, g), b.shape()) : Tensor()};
                     });
  return out;
}

Tensor maximum(const Tensor& a, const Tensor& b) { return select_grad("maximum", BinaryOp::maximum, CompareOp::ge, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return select_grad("minimum", BinaryOp::minimum, CompareOp::le, a, b); }

Tensor add_relu(const Tensor& a, const Tensor& b) {
  Tensor out = launch_binary("add_relu", BinaryOp::add_relu, a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record("add_relu", {a, b}, out,
                     [sa = a.shape(), sb = b.shape(), y = out.detach()](const Tensor& g, const Needs& n) {
                       Tensor masked = relu_backward(g, y);
                       return Grads{n[0] ? sum_to_shape(masked, sa) : Tensor(), n[1] ? sum_to_shape(masked, sb) : Tensor()};
                     });
  return out;
}

Tensor relu_backward(const Tensor& g, const Tensor& y) {
  return launch_binary("relu_backward", BinaryOp::relu_grad, g, y);
}

Tensor eq(const Tensor& a, const Tensor& b) { return launch_compare("eq", CompareOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return launch_compare("ne", CompareOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return launch_compare("lt", CompareOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return launch_compare("le", CompareOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return launch_compare("gt", CompareOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return launch_compare("ge", CompareOp::ge, a, b); }
Tensor gt(const Tensor& a, double s) { return gt(a, scalar_tensor(s, a.dtype(), a.device())); }
Tensor lt(const Tensor& a, double s) { return lt(a, scalar_tensor(s, a.dtype(), a.device())); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  checks::same_device("where", {&cond, &a, &b});
  checks::same_dtype("where", a, b);
  checks::floating("where", a);
  MTMAP_CHECK(cond.dtype() == DType::u8, "where: condition must be u8, got {} {}", dtype_name(cond.dtype()),
              shape_str(cond.shape()));
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  WhereParams p;
  p.n = shape_numel(shape);
  p.cond = broadcast_to(cond, shape, "where").indexer();
  p.a = broadcast_to(a, shape, "where").indexer();
  p.b = broadcast_to(b, shape, "where").indexer();
  Tensor out = empty(shape, a.dtype(), a.device());
  if (p.n > 0) {
    auto* c = static_cast<const uint8_t*>(cond.raw());
    backend_of(a.device()).where(a.dtype(), p, c, a.raw(), b.raw(), out.raw());
  }
  if (autograd::needs_grad({&a, &b}))
    autograd::record("where", {a, b}, out,
                     [cond = cond.detach(), sa = a.shape(), sb = b.shape()](const Tensor& g, const Needs& n) {
                       Tensor zero = zero_like_scalar(g);
                       return Grads{n[0] ? sum_to_shape(where(cond, g, zero), sa) : Tensor(),
                                    n[1] ? sum_to_shape(where(cond, zero, g), sb) : Tensor()};
                     });
  return out;
}

}  // namespace mtmap
