// matmul: batch axes are broadcast and flattened into one strided batch; an operand whose last two
// axes are a transposed contiguous matrix is passed to the GEMM as "transposed" instead of copied.
#include "engine/autograd/node.h"
#include "engine/ops/broadcast.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"
#include "engine/ops/linalg.h"

namespace mtmap {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

struct Operand {
  Tensor t;        // (batch, rows, cols) view the GEMM reads
  bool trans = false;
  int64_t ld = 0, batch_stride = 0;
};

// Makes t (B, r, c) readable by a GEMM: row-major or column-major matrices, any batch stride
// (0 for a broadcast batch). Copies only when neither layout fits.
Operand as_gemm_operand(Tensor t) {
  Operand o;
  int64_t r = t.shape()[1], c = t.shape()[2];
  int64_t sb = t.strides()[0], sr = t.strides()[1], sc = t.strides()[2];
  if ((sc == 1 || c == 1) && (sr >= std::max<int64_t>(c, 1) || r == 1)) {
    o.trans = false;
    o.ld = r == 1 ? std::max<int64_t>(c, 1) : sr;
  } else if ((sr == 1 || r == 1) && (sc >= std::max<int64_t>(r, 1) || c == 1)) {
    o.trans = true;
    o.ld = c == 1 ? std::max<int64_t>(r, 1) : sc;
  } else {
    t = t.contiguous();
    sb = t.strides()[0];
    o.ld = std::max<int64_t>(c, 1);
  }
  o.batch_stride = t.shape()[0] == 1 ? 0 : sb;
  o.t = t;
  return o;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  checks::same_device("matmul", {&a, &b});
  checks::same_dtype("matmul", a, b);
  checks::floating("matmul", a);
  MTMAP_CHECK(a.ndim() >= 2 && b.ndim() >= 2, "matmul: operands need at least 2 axes, got {} and {}",
              shape_str(a.shape()), shape_str(b.shape()));
  int64_t m = a.size(-2), k = a.size(-1), k2 = b.size(-2), n = b.size(-1);
  MTMAP_CHECK(k == k2, "matmul: inner sizes differ: {} @ {}", shape_str(a.shape()), shape_str(b.shape()));
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  int64_t nb = shape_numel(batch);

  auto batched = [&](const Tensor& t, int64_t r, int64_t c) {
    Shape full = batch;
    full.push_back(r);
    full.push_back(c);
    Tensor e = t.detach().expand(full);
    // Flatten the batch axes: possible without a copy when they are broadcast or contiguous.
    Tensor v = e.ndim() == 2 ? e.unsqueeze(0) : e;
    if (v.ndim() > 3) {
      bool broadcast_batch = true;
      for (size_t i = 0; i < batch.size(); ++i) broadcast_batch &= (e.strides()[i] == 0 || batch[i] == 1);
      if (broadcast_batch) {
        v = e.narrow(0, 0, 1);
        for (size_t i = 1; i < batch.size(); ++i) v = v.narrow(int(i), 0, 1);
        v = v.reshape({1, r, c});  // shared by every batch entry
      } else {
        v = e.contiguous().reshape({nb, r, c});
      }
    }
    return as_gemm_operand(v);
  };
  Operand oa = batched(a, m, k), ob = batched(b, k, n);

  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = empty(out_shape, a.dtype(), a.device());
  GemmParams p;
  p.trans_a = oa.trans;
  p.trans_b = ob.trans;
  p.batch = nb;
  p.m = m;
  p.n = n;
  p.k = k;
  p.lda = oa.ld;
  p.ldb = ob.ld;
  p.ldc = n;
  p.stride_a = oa.batch_stride;
  p.stride_b = ob.batch_stride;
  p.stride_c = m * n;
  if (out.numel() > 0) {
    backend_of(a.device()).gemm(a.dtype(), p, oa.t.raw(), ob.t.raw(), out.raw());
  }
  if (autograd::needs_grad({&a, &b}))
    autograd::record("matmul", {a, b}, out, [a = a.detach(), b = b.detach()](const Tensor& g, const Needs& nd) {
      Tensor ga, gb;
      if (nd[0]) ga = sum_to_shape(matmul(g, b.transpose(-1, -2)), a.shape());
      if (nd[1]) gb = sum_to_shape(matmul(a.transpose(-1, -2), g), b.shape());
      return Grads{ga, gb};
    });
  return out;
}

}  // namespace mtmap
