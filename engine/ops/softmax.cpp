// Softmax family: the axis is moved last and one row kernel handles each row.
#include "engine/ops/softmax.h"

#include <limits>

#include "engine/autograd/node.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace mtmap {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

// The axis order that moves `dim` last and keeps the others in order.
std::vector<int> dim_last(int ndim, int dim) {
  std::vector<int> order;
  for (int d = 0; d < ndim; ++d)
    if (d != dim) order.push_back(d);
  order.push_back(dim);
  return order;
}

std::vector<int> inverse(const std::vector<int>& order) {
  std::vector<int> inv(order.size());
  for (size_t i = 0; i < order.size(); ++i) inv[size_t(order[i])] = int(i);
  return inv;
}

// Runs `op` on rows along `dim`; the result has `dim` moved last (or dropped, for logsumexp).
Tensor launch_rows(const char* name, const Tensor& t, int dim, RowOp op) {
  checks::floating(name, t);
  Tensor x = t.detach().permute(dim_last(t.ndim(), dim)).contiguous();
  int64_t cols = x.size(-1), rows = cols == 0 ? 0 : x.numel() / cols;
  MTMAP_CHECK(cols > 0 || op != RowOp::logsumexp, "{}: empty axis in shape {}", name, shape_str(t.shape()));
  Shape out_shape = x.shape();
  if (op == RowOp::logsumexp) out_shape.pop_back();
  Tensor out = empty(out_shape, t.dtype(), t.device());
  RowParams p;
  p.op = op;
  p.rows = rows;
  p.cols = cols;
  if (rows > 0 && cols > 0) {
    backend_of(t.device()).row_op(t.dtype(), p, x.raw(), out.raw());
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& t, int dim_in) {
  int dim = wrap_dim(dim_in, t.ndim(), "softmax");
  Tensor y = launch_rows("softmax", t, dim, RowOp::softmax).permute(inverse(dim_last(t.ndim(), dim)));
  if (autograd::needs_grad({&t}))
    autograd::record("softmax", {t}, y, [y = y.detach(), dim](const Tensor& g, const Needs&) {
      Tensor gy = mul(g, y);
      return Grads{sub(gy, mul(y, sum(gy, {dim}, /*keepdim=*/true)))};
    });
  return y;
}

Tensor log_softmax(const Tensor& t, int dim_in) {
  int dim = wrap_dim(dim_in, t.ndim(), "log_softmax");
  Tensor y = launch_rows("log_softmax", t, dim, RowOp::log_softmax).permute(inverse(dim_last(t.ndim(), dim)));
  if (autograd::needs_grad({&t}))
    autograd::record("log_softmax", {t}, y, [y = y.detach(), dim](const Tensor& g, const Needs&) {
      return Grads{sub(g, mul(exp(y), sum(g, {dim}, /*keepdim=*/true)))};
    });
  return y;
}

Tensor logsumexp(const Tensor& t, int dim_in, bool keepdim) {
  int dim = wrap_dim(dim_in, t.ndim(), "logsumexp");
  Tensor y = launch_rows("logsumexp", t, dim, RowOp::logsumexp);  // kept axes in order, dim dropped
  Shape keep_shape = t.shape();
  keep_shape[size_t(dim)] = 1;
  if (autograd::needs_grad({&t}))
    autograd::record("logsumexp", {t}, y, [x = t.detach(), y = y.detach(), keep_shape](const Tensor& g, const Needs&) {
      return Grads{mul(g.reshape(keep_shape), exp(sub(x, y.reshape(keep_shape))))};
    });
  return keepdim ? y.reshape(keep_shape) : y;
}

Tensor l2_normalize(const Tensor& t, int dim, double eps) {
  // Clamp the squared norm before the square root: sqrt's gradient at 0 would be infinite.
  Tensor squared = sum(mul(t, t), {dim}, /*keepdim=*/true);
  return div(t, sqrt(clamp(squared, eps * eps, std::numeric_limits<double>::infinity())));
}

}  // namespace mtmap
