// Reductions: the reduced axes are moved last and made contiguous, then one row kernel reduces
// each row of a (rows, cols) view. Each row is summed in a fixed order, so results are
// deterministic.
#include "engine/ops/reduce.h"

#include <algorithm>
#include <numeric>

#include "engine/autograd/node.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"

namespace mtmap {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

struct Plan {
  std::vector<int> dims;  // sorted, unique, non-negative
  Shape kept_shape;       // output without keepdim
  Shape keep_shape;       // output with keepdim (1 on reduced axes)
  int64_t rows = 1, cols = 1;
};

Plan plan(const char* op, const Tensor& t, const std::vector<int>& dims_in) {
  Plan p;
  for (int d : dims_in) p.dims.push_back(wrap_dim(d, t.ndim(), op));
  std::sort(p.dims.begin(), p.dims.end());
  MTMAP_CHECK(std::adjacent_find(p.dims.begin(), p.dims.end()) == p.dims.end(), "{}: axis repeated in [{}]", op,
              fmt::join(dims_in, ", "));
  p.keep_shape = t.shape();
  for (int d = 0; d < t.ndim(); ++d) {
    bool reduced = std::binary_search(p.dims.begin(), p.dims.end(), d);
    if (reduced) {
      p.cols *= t.shape()[size_t(d)];
      p.keep_shape[size_t(d)] = 1;
    } else {
      p.rows *= t.shape()[size_t(d)];
      p.kept_shape.push_back(t.shape()[size_t(d)]);
    }
  }
  return p;
}

Tensor launch_reduce(const char* name, const Tensor& t, const Plan& p, ReduceOp op, double correction) {
  checks::floating(name, t);
  MTMAP_CHECK(p.cols > 0 || op == ReduceOp::sum, "{}: reducing an empty axis of shape {}", name, shape_str(t.shape()));
  // Kept axes first, reduced axes last, then one contiguous (rows, cols) block.
  std::vector<int> order;
  for (int d = 0; d < t.ndim(); ++d)
    if (!std::binary_search(p.dims.begin(), p.dims.end(), d)) order.push_back(d);
  order.insert(order.end(), p.dims.begin(), p.dims.end());
  Tensor x = t.detach().permute(order).contiguous();
  Tensor out = empty(p.kept_shape, t.dtype(), t.device());
  ReduceParams rp;
  rp.op = op;
  rp.rows = p.rows;
  rp.cols = p.cols;
  rp.correction = correction;
  if (p.rows == 0) return out;
  backend_of(t.device()).reduce(t.dtype(), rp, x.raw(), out.raw());
  return out;
}

Tensor finish(Tensor out, const Plan& p, bool keepdim) { return keepdim ? out.reshape(p.keep_shape) : out; }

std::vector<int> all_dims(const Tensor& t) {
  std::vector<int> d(static_cast<size_t>(t.ndim()));
  std::iota(d.begin(), d.end(), 0);
  return d;
}

Tensor reduce_sum_or_mean(const char* name, const Tensor& t, const std::vector<int>& dims, bool keepdim, bool is_mean) {
  Plan p = plan(name, t, dims);
  Tensor out = launch_reduce(name, t, p, is_mean ? ReduceOp::mean : ReduceOp::sum, 0);
  if (autograd::needs_grad({&t})) {
    double scale = is_mean ? 1.0 / double(p.cols) : 1.0;
    autograd::record(name, {t}, out, [p, in_shape = t.shape(), scale](const Tensor& g, const Needs&) {
      Tensor gk = g.reshape(p.keep_shape).expand(in_shape);
      return Grads{scale == 1.0 ? gk : mul(gk, scale)};
    });
  }
  return finish(out, p, keepdim);
}

Tensor reduce_extreme(const char* name, const Tensor& t, const std::vector<int>& dims, bool keepdim, ReduceOp op) {
  Plan p = plan(name, t, dims);
  Tensor out = launch_reduce(name, t, p, op, 0);
  if (autograd::needs_grad({&t})) {
    autograd::record(name, {t}, out, [p, x = t.detach(), y = out.detach()](const Tensor& g, const Needs&) {
      Tensor hit = eq(x, y.reshape(p.keep_shape)).to(x.dtype());
      Tensor count = sum(hit, p.dims, /*keepdim=*/true);
      return Grads{mul(hit, div(g.reshape(p.keep_shape), count))};
    });
  }
  return finish(out, p, keepdim);
}

}  // namespace

Tensor sum(const Tensor& t) { return sum(t, all_dims(t), false); }
Tensor mean(const Tensor& t) { return mean(t, all_dims(t), false); }

Tensor sum(const Tensor& t, const std::vector<int>& dims, bool keepdim) {
  return reduce_sum_or_mean("sum", t, dims, keepdim, false);
}
Tensor mean(const Tensor& t, const std::vector<int>& dims, bool keepdim) {
  return reduce_sum_or_mean("mean", t, dims, keepdim, true);
}
Tensor max(const Tensor& t, const std::vector<int>& dims, bool keepdim) {
  return reduce_extreme("max", t, dims, keepdim, ReduceOp::max);
}
Tensor min(const Tensor& t, const std::vector<int>& dims, bool keepdim) {
  return reduce_extreme("min", t, dims, keepdim, ReduceOp::min);
}

Tensor var(const Tensor& t, const std::vector<int>& dims, double correction, bool keepdim) {
  Plan p = plan("var", t, dims);
  MTMAP_CHECK(double(p.cols) - correction > 0, "var: {} elements per reduction with correction {} (shape {})", p.cols,
              correction, shape_str(t.shape()));
  Tensor out = launch_reduce("var", t, p, ReduceOp::var, correction);
  if (autograd::needs_grad({&t})) {
    double scale = 2.0 / (double(p.cols) - correction);
    autograd::record("var", {t}, out, [p, x = t.detach(), scale](const Tensor& g, const Needs&) {
      Tensor centred = sub(x, mean(x, p.dims, /*keepdim=*/true));
      return Grads{mul(centred, mul(g.reshape(p.keep_shape), scale))};
    });
  }
  return finish(out, p, keepdim);
}

Tensor stddev(const Tensor& t, const std::vector<int>& dims, double correction, bool keepdim) {
  return sqrt(var(t, dims, correction, keepdim));
}

}  // namespace mtmap
