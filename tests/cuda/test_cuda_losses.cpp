// CUDA parity of the training losses: InfoNCE and the spatial-correlation loss, forward and
// backward, against the CPU ops on fresh random inputs, new CUDA blocks poisoned (NaN) so an
// unwritten output element fails. Sizes hit every launcher branch: a single row and K = 1, sizes
// that are no multiple of a 16-wide tile or a 256-thread block, M > 512 (more pairs per row than
// threads in the pair reduction), the preprint's B = 256, M = 500, and a dead (constant) unit.
// block_spatial_loss (and both losses at small shapes, forward and backward) is checked by the
// generated test_cuda_op_table.cpp. Tolerances: f64 rtol 1e-10 (sums in a different order, then exp/log); f32 rtol 1e-4 (cuBLAS
// f32 logits; the CPU accumulates the dot products in double).
#include "engine/ops/elementwise.h"
#include "losses/info_nce.h"
#include "losses/spatial_loss.h"
#include "tests/cuda/cuda_test_util.h"

namespace mtmap::test {
namespace {

Tol loss_tol(DType t) { return t == DType::f64 ? Tol{1e-10, 1e-12} : Tol{1e-4, 1e-6}; }

struct Result {
  Tensor loss, grads[2];
};

Result run_info_nce(const Tensor& q0, const Tensor& k0, const Tensor& queue0, Device d, double T) {
  // detach(): fresh leaves on either device (to(cpu) of a CPU tensor is the tensor itself).
  Tensor q = q0.to(d).detach(), k = k0.to(d).detach(), queue = queue0.to(d).detach();
  q.set_requires_grad(true);
  k.set_requires_grad(true);
  Tensor loss = losses::info_nce(q, k, queue, T);
  mul(loss, 1.7).backward();
  return {loss, {q.grad(), k.grad()}};
}

Result run_spatial(const Tensor& x0, const Tensor& target0, Device d, losses::SpatialLossForm form) {
  Tensor x = x0.to(d).detach(), target = target0.to(d).detach();
  x.set_requires_grad(true);
  Tensor loss = losses::spatial_loss(x, target, form);
  mul(loss, 0.9).backward();
  return {loss, {x.grad(), Tensor()}};
}

}  // namespace

TEST_CASE("cuda losses: info_nce forward and backward match the CPU") {
  struct Case {
    int64_t N, D, K;
  };
  for (DType t : {DType::f32, DType::f64})
    for (Case c : {Case{1, 3, 1}, Case{5, 17, 300}, Case{64, 128, 4096}}) {
      PoisonScope poison;
      Generator gen(uint64_t(c.N * 1000 + c.K));
      Tensor q = random_input({c.N, c.D}, gen, t), k = random_input({c.N, c.D}, gen, t);
      Tensor queue = random_input({c.K, c.D}, gen, t);
      Result want = run_info_nce(q, k, queue, Device::cpu(), 0.2);
      Result got = run_info_nce(q, k, queue, gpu(), 0.2);
      Tol tol = loss_tol(t);
      std::string what = fmt::format("info_nce {} N {} D {} K {}", dtype_name(t), c.N, c.D, c.K);
      check_close(want.loss, got.loss, tol.rtol, tol.atol, what + " loss");
      check_close(want.grads[0], got.grads[0], tol.rtol, tol.atol * 10, what + " dq");
      check_close(want.grads[1], got.grads[1], tol.rtol, tol.atol * 10, what + " dk");
    }
}

TEST_CASE("cuda losses: spatial_loss forward and backward match the CPU (both forms)") {
  struct Case {
    int64_t B, M;
    bool dead;
  };
  for (DType t : {DType::f32, DType::f64})
    for (auto form : {losses::SpatialLossForm::relative, losses::SpatialLossForm::absolute})
      // B = 2 is left out: every correlation of two samples is exactly ±1, where the clamp to
      // [-1, 1] makes the gradient depend on the last bit of rounding (seen on an H200: CPU and GPU
      // both right, and different). B = 3 is the smallest well-posed batch.
      for (Case c : {Case{3, 5, false}, Case{37, 21, true}, Case{256, 500, false}, Case{19, 700, true}}) {
        PoisonScope poison;
        Generator gen(uint64_t(c.B * 7919 + c.M));
        std::vector<double> xv = random_input({c.B, c.M}, gen, DType::f64).to_vector<double>();
        if (c.dead)
          for (int64_t b = 0; b < c.B; ++b) xv[size_t(b * c.M + 1)] = 0.25;
        Tensor x = from_vector(xv, {c.B, c.M}).to(t);
        Tensor pos = mul(rand({c.M, 2}, gen, DType::f64), 4.0);
        Tensor target = losses::inverse_distance(pos).to(t);
        Result want = run_spatial(x, target, Device::cpu(), form);
        Result got = run_spatial(x, target, gpu(), form);
        Tol tol = loss_tol(t);
        std::string what = fmt::format("spatial_loss {} {} B {} M {}", dtype_name(t),
                                       form == losses::SpatialLossForm::relative ? "relative" : "absolute", c.B, c.M);
        check_close(want.loss, got.loss, tol.rtol, tol.atol, what + " loss");
        // The gradient is small per element (≈ 1/M²): an absolute floor scaled to its size.
        double gmax = 0;
        for (double v : want.grads[0].to_vector<double>()) gmax = std::max(gmax, std::abs(v));
        check_close(want.grads[0], got.grads[0], tol.rtol * 10, tol.rtol * gmax, what + " dx");
      }
}

}  // namespace mtmap::test
