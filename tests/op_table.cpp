// The op table (tests/op_table.h): one entry per differentiable op or variant worth its own
// check. Shapes are tiny on purpose: the float64 gradient check evaluates the op twice per input
// element. Inputs stay away from kinks and poles (positive where log, sqrt, pow or a division
// needs it; at least 0.05 from relu's, abs's and clamp's kinks); continuous random values give
// max/min/maximum/max_pool3d no ties.
#include "tests/op_table.h"

#include <cmath>

#include "engine/ops/conv3d.h"
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "engine/ops/linalg.h"
#include "engine/ops/norm_pool.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "losses/info_nce.h"
#include "losses/spatial_loss.h"

namespace mtmap::test {

// ---- inputs ----

Tensor OpInputs::draw_normal(const Shape& shape) { return randn(shape, gen_, DType::f64); }
Tensor OpInputs::draw_uniform(const Shape& shape) { return rand(shape, gen_, DType::f64); }

Tensor OpInputs::finish(const Tensor& f64, bool requires_grad) const {
  // to(dtype) and to(device) return the same tensor when nothing changes: detach() makes the
  // result a fresh leaf either way.
  Tensor t = f64.to(dtype_).to(device_).detach();
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor OpInputs::normal(const Shape& shape, double scale, double shift) {
  return finish(add(mul(draw_normal(shape), scale), shift), true);
}

Tensor OpInputs::uniform(const Shape& shape, double lo, double hi) {
  return finish(add(mul(draw_uniform(shape), hi - lo), lo), true);
}

Tensor OpInputs::signed_uniform(const Shape& shape, double lo, double hi) {
  std::vector<double> m = draw_uniform(shape).to_vector<double>(), s = draw_uniform(shape).to_vector<double>();
  for (size_t i = 0; i < m.size(); ++i) m[i] = (s[i] < 0.5 ? -1.0 : 1.0) * (lo + (hi - lo) * m[i]);
  return values(m, shape, true);
}

Tensor OpInputs::away_from(const Shape& shape, double scale, const std::vector<double>& kinks, double margin) {
  std::vector<double> v = draw_normal(shape).to_vector<double>();
  for (double& x : v) {
    x *= scale;
    for (double k : kinks)
      if (std::fabs(x - k) < margin) x = x < k ? k - margin : k + margin;
  }
  return values(v, shape, true);
}

Tensor OpInputs::values(const std::vector<double>& v, const Shape& shape, bool requires_grad) {
  return finish(from_vector(v, shape, DType::f64), requires_grad);
}

Tensor OpInputs::constant(const Tensor& f64) { return finish(f64, false); }

Tensor OpInputs::normal_constant(const Shape& shape, double scale, double shift) {
  return finish(add(mul(draw_normal(shape), scale), shift), false);
}

Tensor OpInputs::uniform_constant(const Shape& shape, double lo, double hi) {
  return finish(add(mul(draw_uniform(shape), hi - lo), lo), false);
}

Tensor OpInputs::index(const std::vector<int64_t>& v, const Shape& shape) {
  return from_vector(v, shape, DType::i64).to(device_);
}

Tensor OpInputs::mask(const Shape& shape) { return gt(draw_uniform(shape), 0.5).to(device_); }

namespace {

uint64_t name_seed(const std::string& name) {  // FNV-1a: the same on every platform
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::vector<Tensor> make_inputs(const OpEntry& e, DType dtype, Device device) {
  OpInputs in(name_seed(e.name), dtype, device);
  return e.inputs(in);
}

std::vector<DType> entry_dtypes(const OpEntry& e, bool cuda_backend) {
  std::vector<DType> ts = {DType::f64};
  if (e.f32) ts.push_back(DType::f32);
  if (e.bf16 && cuda_backend) ts.push_back(DType::bf16);
  return ts;
}

ParityTol parity_tol(const OpEntry& e, DType dtype) {
  // Defaults, on inputs of size ~1 and tiny shapes:
  //  - f64: both sides compute in double; libm and CUDA's exp/log/pow differ by an ulp or two and
  //    sums are added in different orders: rtol 1e-10, atol 1e-12 of the tensor's largest value.
  //  - f32: the GPU computes in float where the CPU often accumulates in double; float exp/log
  //    are within a few ulp, and a backward pass chains several ops: rtol 1e-4, atol 1e-5.
  //  - bf16 (against the CPU's f32 op on the same bf16-rounded values): the GPU rounds each op's
  //    result to 8 significant bits (≤ 2^-9 relative) and a backward pass rounds several times:
  //    rtol 2e-2, atol 2e-2.
  ParityTol own = dtype == DType::f64 ? e.f64_tol : dtype == DType::f32 ? e.f32_tol : e.bf16_tol;
  if (own.rtol > 0 || own.atol > 0) return own;
  switch (dtype) {
    case DType::f64: return {1e-10, 1e-12};
    case DType::f32: return {1e-4, 1e-5};
    default: return {2e-2, 2e-2};
  }
}

namespace {

using Ts = std::vector<Tensor>;
using Op = std::function<Tensor(const Ts&)>;
using Inputs = std::function<Ts(OpInputs&)>;

// Appends an entry for an engine op: f64, f32 and bf16 (CUDA), CUDA kernel present.
OpEntry& add_entry(std::vector<OpEntry>& table, std::string name, Inputs inputs, Op op) {
  OpEntry e;
  e.name = std::move(name);
  e.inputs = std::move(inputs);
  e.op = std::move(op);
  e.bf16 = true;
  table.push_back(std::move(e));
  return table.back();
}

Conv3dOptions conv_opts(std::array<int64_t, 3> stride, std::array<int64_t, 3> pad,
                        std::array<int64_t, 3> dil = {1, 1, 1}) {
  Conv3dOptions o;
  o.stride = stride;
  o.padding = pad;
  o.dilation = dil;
  return o;
}

void elementwise(std::vector<OpEntry>& t) {
  // Binary ops: a (3, 1, 4) against b (2, 4), both broadcast, so the backward's sum_to_shape runs
  // in both directions.
  auto ab = [](OpInputs& in) { return Ts{in.normal({3, 1, 4}), in.normal({2, 4})}; };
  add_entry(t, "add_broadcast", ab, [](const Ts& x) { return add(x[0], x[1]); });
  add_entry(t, "sub_broadcast", ab, [](const Ts& x) { return sub(x[0], x[1]); });
  add_entry(t, "mul_broadcast", ab, [](const Ts& x) { return mul(x[0], x[1]); });
  add_entry(
      t, "div_broadcast", [](OpInputs& in) { return Ts{in.normal({3, 1, 4}), in.uniform({2, 4}, 0.5, 2.0)}; },
      [](const Ts& x) { return div(x[0], x[1]); });
  // Base positive: log(a) is in the exponent's gradient.
  add_entry(
      t, "pow_broadcast", [](OpInputs& in) { return Ts{in.uniform({3, 1, 4}, 0.5, 2.0), in.uniform({2, 4}, -1.5, 1.5)}; },
      [](const Ts& x) { return pow(x[0], x[1]); });
  add_entry(t, "maximum_broadcast", ab, [](const Ts& x) { return maximum(x[0], x[1]); });
  add_entry(t, "minimum_broadcast", ab, [](const Ts& x) { return minimum(x[0], x[1]); });
  add_entry(t, "add_relu_broadcast", ab, [](const Ts& x) { return add_relu(x[0], x[1]); });
  // Same shapes (the contiguous fast path) and a 0-d operand.
  add_entry(
      t, "mul_same_shape", [](OpInputs& in) { return Ts{in.normal({2, 3, 4}), in.normal({2, 3, 4})}; },
      [](const Ts& x) { return mul(x[0], x[1]); });
  add_entry(
      t, "add_0d_operand", [](OpInputs& in) { return Ts{in.normal({3, 4}), in.normal({})}; },
      [](const Ts& x) { return add(x[0], x[1]); });
  // where(cond, a, b): cond a u8 mask (no grad), b (4) broadcast against a (3, 4).
  add_entry(
      t, "where_broadcast", [](OpInputs& in) { return Ts{in.mask({3, 4}), in.normal({3, 4}), in.normal({4})}; },
      [](const Ts& x) { return where(x[0], x[1], x[2]); });

  // Scalar forms and unary ops on (2, 3, 2).
  auto a = [](OpInputs& in) { return Ts{in.normal({2, 3, 2})}; };
  auto pos = [](OpInputs& in) { return Ts{in.uniform({2, 3, 2}, 0.3, 3.0)}; };
  add_entry(t, "add_scalar", a, [](const Ts& x) { return add(x[0], 1.5); });
  add_entry(t, "sub_scalar", a, [](const Ts& x) { return sub(x[0], 0.25); });
  add_entry(t, "mul_scalar", a, [](const Ts& x) { return mul(x[0], -2.5); });
  add_entry(t, "div_scalar", a, [](const Ts& x) { return div(x[0], 4.0); });
  add_entry(t, "rsub", a, [](const Ts& x) { return rsub(3.0, x[0]); });
  add_entry(t, "rdiv", pos, [](const Ts& x) { return rdiv(2.0, x[0]); });
  add_entry(t, "neg", a, [](const Ts& x) { return neg(x[0]); });
  add_entry(t, "exp", a, [](const Ts& x) { return exp(x[0]); });
  add_entry(t, "log", pos, [](const Ts& x) { return log(x[0]); });
  add_entry(t, "sqrt", pos, [](const Ts& x) { return sqrt(x[0]); });
  add_entry(t, "pow_scalar", pos, [](const Ts& x) { return pow(x[0], 2.7); });
  add_entry(t, "pow_scalar_int", a, [](const Ts& x) { return pow(x[0], 3.0); });
  // Piecewise ops: every element at least 0.05 from a kink.
  auto away0 = [](OpInputs& in) { return Ts{in.signed_uniform({4, 5}, 0.05, 1.0)}; };
  add_entry(t, "relu", away0, [](const Ts& x) { return relu(x[0]); });
  add_entry(t, "abs", away0, [](const Ts& x) { return abs(x[0]); });
  add_entry(
      t, "clamp", [](OpInputs& in) { return Ts{in.away_from({4, 5}, 1.0, {-0.5, 0.5}, 0.05)}; },
      [](const Ts& x) { return clamp(x[0], -0.5, 0.5); });
  // sign has a zero gradient: sign(x)·x = |x| checks that it adds nothing.
  add_entry(t, "sign_times_x", away0, [](const Ts& x) { return mul(sign(x[0]), x[0]); });
}

void reductions(std::vector<OpEntry>& t) {
  auto a = [](OpInputs& in) { return Ts{in.normal({2, 3, 4})}; };
  add_entry(t, "sum_all", a, [](const Ts& x) { return sum(x[0]); });
  add_entry(t, "sum_mid", a, [](const Ts& x) { return sum(x[0], {1}); });
  add_entry(t, "sum_outer_keepdim", a, [](const Ts& x) { return sum(x[0], {0, 2}, true); });
  add_entry(t, "mean_last", a, [](const Ts& x) { return mean(x[0], {-1}); });
  add_entry(t, "mean_all", a, [](const Ts& x) { return mean(x[0]); });
  auto m = [](OpInputs& in) { return Ts{in.normal({3, 5})}; };
  add_entry(t, "max_rows", m, [](const Ts& x) { return max(x[0], {1}); });
  add_entry(t, "max_cols_keepdim", m, [](const Ts& x) { return max(x[0], {0}, true); });
  add_entry(t, "min_all_axes", m, [](const Ts& x) { return min(x[0], {0, 1}); });
  auto v = [](OpInputs& in) { return Ts{in.normal({4, 3, 2})}; };
  add_entry(t, "var_unbiased", v, [](const Ts& x) { return var(x[0], {0}); });
  add_entry(t, "var_biased_keepdim", v, [](const Ts& x) { return var(x[0], {1, 2}, 0, true); });
  add_entry(t, "stddev", v, [](const Ts& x) { return stddev(x[0], {0, 2}); });

  // The softmax family along the first, a middle and the last axis (the engine moves the axis
  // last first), on logits of scale 2.
  auto s = [](OpInputs& in) { return Ts{in.normal({3, 4, 2}, 2.0)}; };
  for (int dim : {0, 1, -1}) {
    std::string d = dim == -1 ? "last" : "dim" + std::to_string(dim);
    add_entry(t, "softmax_" + d, s, [dim](const Ts& x) { return softmax(x[0], dim); });
    add_entry(t, "log_softmax_" + d, s, [dim](const Ts& x) { return log_softmax(x[0], dim); });
    add_entry(t, "logsumexp_" + d, s, [dim](const Ts& x) { return logsumexp(x[0], dim); });
    add_entry(t, "l2_normalize_" + d, s, [dim](const Ts& x) { return l2_normalize(x[0], dim); });
  }
  add_entry(t, "logsumexp_keepdim", s, [](const Ts& x) { return logsumexp(x[0], 1, true); });
}

void linalg(std::vector<OpEntry>& t) {
  auto mm = [](const Ts& x) { return matmul(x[0], x[1]); };
  add_entry(t, "matmul_2d", [](OpInputs& in) { return Ts{in.normal({3, 4}), in.normal({4, 2})}; }, mm);
  add_entry(t, "matmul_batched", [](OpInputs& in) { return Ts{in.normal({2, 3, 4}), in.normal({2, 4, 5})}; }, mm);
  add_entry(
      t, "matmul_broadcast_batch", [](OpInputs& in) { return Ts{in.normal({2, 2, 3, 4}), in.normal({4, 2})}; }, mm);
  add_entry(
      t, "matmul_partial_broadcast", [](OpInputs& in) { return Ts{in.normal({2, 1, 3, 4}), in.normal({3, 4, 2})}; },
      mm);
  // Column-major operands (transposed views): BLAS's transpose flags.
  add_entry(
      t, "matmul_transposed_operands", [](OpInputs& in) { return Ts{in.normal({4, 3}), in.normal({2, 4})}; },
      [](const Ts& x) { return matmul(x[0].transpose(0, 1), x[1].transpose(0, 1)); });
}

void indexing(std::vector<OpEntry>& t) {
  // Joining and views move values without arithmetic: CUDA must equal the CPU exactly.
  add_entry(
      t, "cat_dim1", [](OpInputs& in) { return Ts{in.normal({2, 3}), in.normal({2, 1}), in.normal({2, 2})}; },
      [](const Ts& x) { return cat(x, 1); })
      .exact = true;
  add_entry(
      t, "cat_dim0", [](OpInputs& in) { return Ts{in.normal({2, 3}), in.normal({1, 3})}; },
      [](const Ts& x) { return cat(x, 0); })
      .exact = true;
  add_entry(
      t, "stack_dim1", [](OpInputs& in) { return Ts{in.normal({2, 3}), in.normal({2, 3})}; },
      [](const Ts& x) { return stack(x, 1); })
      .exact = true;
  // Repeated indices: the gradients of one source element accumulate.
  add_entry(
      t, "index_select",
      [](OpInputs& in) { return Ts{in.normal({3, 4, 2}), in.index({3, 0, 3, 1, 3}, {5})}; },
      [](const Ts& x) { return index_select(x[0], 1, x[1]); });
  add_entry(
      t, "index_add",
      [](OpInputs& in) { return Ts{in.normal({3, 4, 2}), in.index({3, 0, 3, 1, 3}, {5}), in.normal({3, 5, 2})}; },
      [](const Ts& x) { return index_add(x[0], 1, x[1], x[2]); });
  add_entry(
      t, "gather_dim1",
      [](OpInputs& in) { return Ts{in.normal({3, 4}), in.index({0, 3, 3, 1, 2, 2, 0, 0, 1}, {3, 3})}; },
      [](const Ts& x) { return gather(x[0], 1, x[1]); });
  add_entry(
      t, "gather_dim0",
      [](OpInputs& in) { return Ts{in.normal({3, 4}), in.index({2, 0, 1, 1, 0, 2, 2, 2}, {2, 4})}; },
      [](const Ts& x) { return gather(x[0], 0, x[1]); });
  add_entry(
      t, "scatter_add",
      [](OpInputs& in) {
        return Ts{in.normal({3, 4}), in.index({0, 3, 3, 1, 2, 2, 0, 0, 1}, {3, 3}), in.normal({3, 3})};
      },
      [](const Ts& x) { return scatter_add(x[0], 1, x[1], x[2]); });
}

void views(std::vector<OpEntry>& t) {
  auto a = [](OpInputs& in) { return Ts{in.normal({2, 3, 4})}; };
  add_entry(t, "reshape", a, [](const Ts& x) { return x[0].reshape({4, -1}); }).exact = true;
  // A reshape of a non-contiguous view copies first.
  add_entry(t, "reshape_noncontiguous", a, [](const Ts& x) { return x[0].transpose(0, 2).reshape({6, 4}); }).exact =
      true;
  add_entry(t, "permute", a, [](const Ts& x) { return x[0].permute({2, 0, 1}); }).exact = true;
  add_entry(t, "transpose_contiguous", a, [](const Ts& x) { return x[0].transpose(0, 2).contiguous(); }).exact = true;
  add_entry(t, "narrow", a, [](const Ts& x) { return x[0].narrow(2, 1, 2); }).exact = true;
  add_entry(t, "expand", a, [](const Ts& x) { return x[0].expand({2, 2, 3, 4}); }).exact = true;
  add_entry(t, "unsqueeze_squeeze", a, [](const Ts& x) { return x[0].unsqueeze(1).squeeze(1); }).exact = true;
  add_entry(t, "view_chain", a, [](const Ts& x) {
    return x[0].narrow(1, 1, 1).squeeze(1).unsqueeze(0).expand({2, 2, 4}).contiguous();
  }).exact = true;
  // to(dtype) both ways: a round trip through f32 loses precision, so the float64 check is held
  // to what f32 allows. In f32 the first conversion is a no-op, in bf16 both run.
  OpEntry& conv = add_entry(t, "to_f32_and_back", a,
                            [](const Ts& x) { return mul(x[0].to(DType::f32), 2.0).to(x[0].dtype()); });
  conv.exact = true;
  conv.gradcheck.eps = 1e-2;
  conv.gradcheck.rtol = 1e-3;
  conv.gradcheck.atol = 1e-5;
}

void convolution(std::vector<OpEntry>& t) {
  struct Case {
    const char* name;
    Shape x, w;
    Conv3dOptions o;
  };
  // The model's kernel shapes, odd sizes, strides, paddings and dilations (the default algorithm:
  // vol2col + GEMM in float64 on the CPU; the analytic kernels in f32/f64 and the tensor-core
  // implicit GEMM in bf16 on CUDA).
  const Case cases[] = {
      {"1x1x1", {2, 3, 3, 4, 5}, {4, 3, 1, 1, 1}, conv_opts({1, 1, 1}, {0, 0, 0})},
      {"1x1x1_stride2", {1, 3, 5, 5, 4}, {2, 3, 1, 1, 1}, conv_opts({2, 2, 2}, {0, 0, 0})},
      {"3x3x3_pad1", {2, 2, 3, 5, 4}, {3, 2, 3, 3, 3}, conv_opts({1, 1, 1}, {1, 1, 1})},
      {"3x3x3_stride2_odd", {1, 2, 5, 7, 6}, {2, 2, 3, 3, 3}, conv_opts({2, 2, 2}, {1, 1, 1})},
      {"3x7x7_stem", {1, 3, 3, 9, 8}, {2, 3, 3, 7, 7}, conv_opts({1, 2, 2}, {1, 3, 3})},
      {"7x7x7_hara_stem", {1, 2, 7, 8, 7}, {2, 2, 7, 7, 7}, conv_opts({1, 2, 2}, {3, 3, 3})},
      {"dilated_asym", {1, 2, 5, 6, 7}, {2, 2, 2, 3, 2}, conv_opts({1, 2, 1}, {0, 2, 1}, {2, 1, 3})},
  };
  for (const Case& c : cases) {
    Shape xs = c.x, ws = c.w;
    Conv3dOptions o = c.o;
    add_entry(
        t, std::string("conv3d_") + c.name, [xs, ws](OpInputs& in) { return Ts{in.normal(xs), in.normal(ws)}; },
        [o](const Ts& x) { return conv3d(x[0], x[1], o); });
  }
}

void norm_pool(std::vector<OpEntry>& t) {
  // x (N 3, C 2, 2, 3, 2), off-centre; weight away from 0; running statistics (no grad) that
  // differ from the batch's, so eval mode is really a different function. Training updates them
  // in place (the CUDA check compares them afterwards).
  auto bn_inputs = [](OpInputs& in) {
    return Ts{in.normal({3, 2, 2, 3, 2}, 2.0, 0.5), in.uniform({2}, 0.5, 1.5), in.normal({2}),
              in.values({0.3, -0.2}, {2}, false), in.values({1.5, 0.7}, {2}, false)};
  };
  for (bool training : {true, false})
    for (bool relu : {false, true}) {
      BatchNormOptions o;
      o.training = training;
      o.relu = relu;
      add_entry(t, std::string("batch_norm_") + (training ? "train" : "eval") + (relu ? "_relu" : ""), bn_inputs,
                [o](const Ts& x) { return batch_norm(x[0], x[1], x[2], x[3], x[4], o); });
    }
  // A 2-D (N, C) input: one value per sample and channel.
  add_entry(
      t, "batch_norm_train_2d",
      [](OpInputs& in) {
        return Ts{in.normal({5, 3}), in.uniform({3}, 0.5, 1.5), in.normal({3}), in.values({0.1, 0.2, -0.3}, {3}, false),
                  in.values({0.9, 1.1, 1.3}, {3}, false)};
      },
      [](const Ts& x) { return batch_norm(x[0], x[1], x[2], x[3], x[4], BatchNormOptions{}); });

  auto px = [](OpInputs& in) { return Ts{in.normal({2, 2, 5, 6, 5})}; };
  Pool3dOptions hara;  // the Hara stem's pool: kernel 3, stride 2, padding 1
  hara.kernel = {3, 3, 3};
  hara.stride = {2, 2, 2};
  hara.padding = {1, 1, 1};
  add_entry(t, "max_pool3d_k3s2p1", px, [hara](const Ts& x) { return max_pool3d(x[0], hara); });
  Pool3dOptions plain;
  plain.kernel = {1, 2, 2};
  plain.stride = {1, 2, 2};
  add_entry(t, "max_pool3d_k122", px, [plain](const Ts& x) { return max_pool3d(x[0], plain); });
  add_entry(t, "adaptive_avg_pool3d_global", px, [](const Ts& x) { return adaptive_avg_pool3d(x[0], {1, 1, 1}); });
  // Cells that overlap (5 → 2, 5 → 3) and repeat (6 → 4).
  add_entry(t, "adaptive_avg_pool3d_uneven", px, [](const Ts& x) { return adaptive_avg_pool3d(x[0], {2, 4, 3}); });
}

void loss_entries(std::vector<OpEntry>& t) {
  // The losses run in f32 and f64 only (no bf16 kernels).
  for (double T : {0.2, 1.0}) {
    // q, k (3, 4); the queue (6, 4) takes no gradient (it must receive none).
    add_entry(
        t, T == 0.2 ? "info_nce_T0.2" : "info_nce_T1",
        [](OpInputs& in) {
          return Ts{in.normal({3, 4}, 0.5), in.normal({3, 4}, 0.5), in.normal_constant({6, 4}, 0.5)};
        },
        [T](const Ts& x) { return losses::info_nce(x[0], x[1], x[2], T); })
        .bf16 = false;
  }
  for (auto form : {losses::SpatialLossForm::relative, losses::SpatialLossForm::absolute}) {
    std::string f = form == losses::SpatialLossForm::relative ? "relative" : "absolute";
    // Responses (B 7, M 6) against the inverse-distance target of 6 units on a 3 mm square.
    add_entry(
        t, "spatial_loss_" + f,
        [](OpInputs& in) {
          Tensor x = in.normal({7, 6}, 1.0, 0.3);
          Tensor target = losses::inverse_distance(mul(in.draw_uniform({6, 2}), 3.0));
          return Ts{x, in.constant(target)};
        },
        [form](const Ts& x) { return losses::spatial_loss(x[0], x[1], form); })
        .bf16 = false;
    // Through the time average and the window gather: block (5, 2, 3, 2, 3), 12 units, a window
    // of 6 of them out of order, positions on a 2 mm square.
    add_entry(
        t, "block_spatial_loss_" + f,
        [](OpInputs& in) {
          Tensor block = in.normal({5, 2, 3, 2, 3});
          Tensor window = in.index({7, 0, 11, 3, 5, 8}, {6});
          return Ts{block, window, in.constant(mul(in.draw_uniform({12, 2}), 2.0))};
        },
        [form](const Ts& x) { return losses::block_spatial_loss(x[0], x[1], x[2], form); })
        .bf16 = false;
  }
  // block (N, C, T, H, W) → (N, C·H·W), averaged over T: made of mean and reshape, any float type.
  add_entry(
      t, "unit_responses", [](OpInputs& in) { return Ts{in.normal({2, 3, 2, 2, 2})}; },
      [](const Ts& x) { return losses::unit_responses(x[0]); });
}

std::vector<OpEntry> build() {
  std::vector<OpEntry> t;
  elementwise(t);
  reductions(t);
  linalg(t);
  indexing(t);
  views(t);
  convolution(t);
  norm_pool(t);
  loss_entries(t);
  return t;
}

}  // namespace

const std::vector<OpEntry>& op_table() {
  static const std::vector<OpEntry> table = build();
  return table;
}

}  // namespace mtmap::test
