// Index ops: each works on a contiguous (outer, D, inner) view with the indexed axis in the middle.
#include "engine/ops/index.h"

#include "engine/autograd/node.h"
#include "engine/ops/copy.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"

namespace mtmap {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

int64_t outer_of(const Shape& s, int dim) {
  int64_t n = 1;
  for (int d = 0; d < dim; ++d) n *= s[size_t(d)];
  return n;
}
int64_t inner_of(const Shape& s, int dim) {
  int64_t n = 1;
  for (size_t d = size_t(dim) + 1; d < s.size(); ++d) n *= s[d];
  return n;
}

// `index` is the contiguous index the kernels will read, so a position is the flat position in
// it, and a strided view is checked element by element, not by its storage's order.
// A CPU index is range-checked here, before the CPU kernels (which trust it) run. A device's index
// is not read back for this: its kernels check each index as they use it and the backend reports
// the first bad one, in this wording, at its next synchronisation (engine/cuda/index_errors.h).
void check_index(const char* op, const Tensor& index, int64_t bound) {
  MTMAP_CHECK(index.dtype() == DType::i64, "{}: index must be i64, got {} {}", op, dtype_name(index.dtype()),
              shape_str(index.shape()));
  if (index.device().is_cpu()) {
    const int64_t* p = static_cast<const int64_t*>(index.raw());
    for (int64_t i = 0; i < index.numel(); ++i)
      MTMAP_CHECK(p[i] >= 0 && p[i] < bound, "{}: index {} at position {} is out of range [0, {})", op, p[i], i, bound);
  }
}

// Checks the gather/scatter contract and builds its params.
GatherParams gather_params(const char* op, const Tensor& t, int dim, const Tensor& index) {
  MTMAP_CHECK(index.ndim() == t.ndim(), "{}: index {} and tensor {} need the same number of axes", op,
              shape_str(index.shape()), shape_str(t.shape()));
  for (int d = 0; d < t.ndim(); ++d)
    MTMAP_CHECK(d == dim || index.shape()[size_t(d)] == t.shape()[size_t(d)],
                "{}: index {} must match tensor {} on every axis but {}", op, shape_str(index.shape()),
                shape_str(t.shape()), dim);
  GatherParams p;
  p.outer = outer_of(t.shape(), dim);
  p.inner = inner_of(t.shape(), dim);
  p.D = t.shape()[size_t(dim)];
  p.J = index.shape()[size_t(dim)];
  return p;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& ts, int dim_in) {
  MTMAP_CHECK(!ts.empty(), "cat: no tensors");
  const Tensor& first = ts[0];
  int dim = wrap_dim(dim_in, first.ndim(), "cat");
  Shape out_shape = first.shape();
  out_shape[size_t(dim)] = 0;
  for (const Tensor& t : ts) {
    checks::same_device("cat", {&first, &t});
    checks::same_dtype("cat", first, t);
    bool ok = t.ndim() == first.ndim();
    for (int d = 0; ok && d < t.ndim(); ++d) ok = d == dim || t.shape()[size_t(d)] == first.shape()[size_t(d)];
    MTMAP_CHECK(ok, "cat: shapes {} and {} differ off axis {}", shape_str(first.shape()), shape_str(t.shape()), dim);
    out_shape[size_t(dim)] += t.shape()[size_t(dim)];
  }
  Tensor out = empty(out_shape, first.dtype(), first.device());
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Tensor& t : ts) {
    starts.push_back(at);
    int64_t len = t.shape()[size_t(dim)];
    if (len > 0) copy_into(out.detach().narrow(dim, at, len), t);
    at += len;
  }
  if (autograd::needs_grad(ts)) {
    std::vector<int64_t> lengths;
    for (const Tensor& t : ts) lengths.push_back(t.shape()[size_t(dim)]);
    autograd::record("cat", ts, out, [dim, starts, lengths](const Tensor& g, const Needs& n) {
      Grads gs(n.size());
      for (size_t i = 0; i < n.size(); ++i)
        if (n[i]) gs[i] = g.narrow(dim, starts[i], lengths[i]);
      return gs;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& ts, int dim) {
  MTMAP_CHECK(!ts.empty(), "stack: no tensors");
  int d = wrap_dim(dim, ts[0].ndim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (const Tensor& t : ts) {
    MTMAP_CHECK(t.shape() == ts[0].shape(), "stack: shapes {} and {} differ", shape_str(ts[0].shape()),
                shape_str(t.shape()));
    expanded.push_back(t.unsqueeze(d));
  }
  return cat(expanded, d);
}

Tensor index_select(const Tensor& t, int dim_in, const Tensor& index) {
  int dim = wrap_dim(dim_in, t.ndim(), "index_select");
  checks::same_device("index_select", {&t, &index});
  checks::floating("index_select", t);
  MTMAP_CHECK(index.ndim() == 1, "index_select: index must be 1-D, got {}", shape_str(index.shape()));
  Tensor idx = index.contiguous();
  check_index("index_select", idx, t.shape()[size_t(dim)]);
  Tensor x = t.detach().contiguous();
  Shape out_shape = t.shape();
  out_shape[size_t(dim)] = index.numel();
  Tensor out = zeros(out_shape, t.dtype(), t.device());
  IndexSelectParams p{outer_of(t.shape(), dim), t.shape()[size_t(dim)], inner_of(t.shape(), dim), index.numel()};
  const auto* ip = static_cast<const int64_t*>(idx.raw());
  if (idx.numel() > 0) {  // even with no outputs: a device's kernels check the indices (check_index)
    backend_of(t.device()).index_select(t.dtype(), p, x.raw(), ip, out.raw());
  }
  if (autograd::needs_grad({&t}))
    autograd::record("index_select", {t}, out, [in_shape = t.shape(), dim, idx](const Tensor& g, const Needs&) {
      return Grads{index_add(zeros(in_shape, g.dtype(), g.device()), dim, idx, g)};
    });
  return out;
}

Tensor index_add(const Tensor& t, int dim_in, const Tensor& index, const Tensor& src) {
  int dim = wrap_dim(dim_in, t.ndim(), "index_add");
  checks::same_device("index_add", {&t, &index, &src});
  checks::same_dtype("index_add", t, src);
  checks::floating("index_add", t);
  MTMAP_CHECK(index.ndim() == 1, "index_add: index must be 1-D, got {}", shape_str(index.shape()));
  Shape want = t.shape();
  want[size_t(dim)] = index.numel();
  MTMAP_CHECK(src.shape() == want, "index_add: src {} should be {} (tensor {}, index {})", shape_str(src.shape()),
              shape_str(want), shape_str(t.shape()), shape_str(index.shape()));
  Tensor idx = index.contiguous();
  check_index("index_add", idx, t.shape()[size_t(dim)]);
  Tensor out = convert(t.detach(), t.dtype(), /*force_copy=*/true);
  Tensor s = src.detach().contiguous();
  IndexAddParams p{outer_of(t.shape(), dim), t.shape()[size_t(dim)], inner_of(t.shape(), dim), index.numel()};
  const auto* ip = static_cast<const int64_t*>(idx.raw());
  if (idx.numel() > 0) {  // even with nothing to add: a device's kernels check the indices (check_index)
    backend_of(t.device()).index_add(t.dtype(), p, s.raw(), ip, out.raw());
  }
  if (autograd::needs_grad({&t, &src}))
    autograd::record("index_add", {t, src}, out, [dim, idx](const Tensor& g, const Needs& n) {
      return Grads{n[0] ? g : Tensor(), n[1] ? index_select(g, dim, idx) : Tensor()};
    });
  return out;
}

Tensor gather(const Tensor& t, int dim_in, const Tensor& index) {
  int dim = wrap_dim(dim_in, t.ndim(), "gather");
  checks::same_device("gather", {&t, &index});
  checks::floating("gather", t);
  GatherParams p = gather_params("gather", t, dim, index);
  Tensor idx = index.contiguous();
  check_index("gather", idx, p.D);
  Tensor x = t.detach().contiguous();
  Tensor out = zeros(index.shape(), t.dtype(), t.device());
  const auto* ip = static_cast<const int64_t*>(idx.raw());
  if (out.numel() > 0) {
    backend_of(t.device()).gather(t.dtype(), p, x.raw(), ip, out.raw());
  }
  if (autograd::needs_grad({&t}))
    autograd::record("gather", {t}, out, [in_shape = t.shape(), dim, idx](const Tensor& g, const Needs&) {
      return Grads{scatter_add(zeros(in_shape, g.dtype(), g.device()), dim, idx, g)};
    });
  return out;
}

Tensor scatter_add(const Tensor& t, int dim_in, const Tensor& index, const Tensor& src) {
  int dim = wrap_dim(dim_in, t.ndim(), "scatter_add");
  checks::same_device("scatter_add", {&t, &index, &src});
  checks::same_dtype("scatter_add", t, src);
  checks::floating("scatter_add", t);
  GatherParams p = gather_params("scatter_add", t, dim, index);
  MTMAP_CHECK(src.shape() == index.shape(), "scatter_add: src {} and index {} differ", shape_str(src.shape()),
              shape_str(index.shape()));
  Tensor idx = index.contiguous();
  check_index("scatter_add", idx, p.D);
  Tensor out = convert(t.detach(), t.dtype(), /*force_copy=*/true);
  Tensor s = src.detach().contiguous();
  const auto* ip = static_cast<const int64_t*>(idx.raw());
  if (s.numel() > 0) {
    backend_of(t.device()).scatter_add(t.dtype(), p, s.raw(), ip, out.raw());
  }
  if (autograd::needs_grad({&t, &src}))
    autograd::record("scatter_add", {t, src}, out, [dim, idx](const Tensor& g, const Needs& n) {
      return Grads{n[0] ? g : Tensor(), n[1] ? gather(g, dim, idx) : Tensor()};
    });
  return out;
}

}  // namespace mtmap
