#include "losses/info_nce.h"

#include "engine/autograd/node.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"

namespace mtmap::losses {

Tensor info_nce(const Tensor& q_in, const Tensor& k_in, const Tensor& queue_in, double temperature) {
  MTMAP_CHECK(q_in.ndim() == 2 && k_in.ndim() == 2 && queue_in.ndim() == 2,
              "info_nce: q {}, k {}, queue {} must all be 2-D: (N, D), (N, D), (K, D)", shape_str(q_in.shape()),
              shape_str(k_in.shape()), shape_str(queue_in.shape()));
  MTMAP_CHECK(q_in.shape() == k_in.shape() && queue_in.size(1) == q_in.size(1) && q_in.size(0) >= 1 &&
                  q_in.size(1) >= 1 && queue_in.size(0) >= 1,
              "info_nce: q {}, k {}, queue {}: need q and k (N, D) alike, queue (K, D), N, D, K >= 1",
              shape_str(q_in.shape()), shape_str(k_in.shape()), shape_str(queue_in.shape()));
  MTMAP_CHECK(temperature > 0, "info_nce: temperature {} must be positive", temperature);
  MTMAP_CHECK(!queue_in.requires_grad(), "info_nce: the queue {} requires grad; it takes none (pass queue.detach())",
              shape_str(queue_in.shape()));
  MTMAP_CHECK(q_in.dtype() == DType::f32 || q_in.dtype() == DType::f64, "info_nce: dtype {} (f32 or f64)",
              dtype_name(q_in.dtype()));
  checks::same_dtype("info_nce", q_in, k_in);
  checks::same_dtype("info_nce", q_in, queue_in);
  checks::same_device("info_nce", {&q_in, &k_in, &queue_in});

  InfoNceParams p{q_in.size(0), q_in.size(1), queue_in.size(0), 1.0 / temperature};
  Tensor q = q_in.detach().contiguous(), k = k_in.detach().contiguous(), queue = queue_in.detach().contiguous();
  const Device dev = q.device();
  const DType t = q.dtype();
  Tensor lse = empty({p.N}, DType::f64, dev);
  Tensor loss = empty({}, t, dev);
  backend_of(dev).info_nce_forward(t, p, q.raw(), k.raw(), queue.raw(), loss.raw(), static_cast<double*>(lse.raw()));
  if (autograd::needs_grad({&q_in, &k_in}))
    autograd::record("info_nce", {q_in, k_in, queue_in}, loss,
                     [q, k, queue, lse, p](const Tensor& g_in, const std::vector<bool>& n) {
                       Tensor dq = n[0] ? empty(q.shape(), q.dtype(), q.device()) : Tensor();
                       Tensor dk = n[1] ? empty(k.shape(), k.dtype(), k.device()) : Tensor();
                       Tensor g = g_in.to(q.dtype()).contiguous();
                       backend_of(q.device())
                           .info_nce_backward(q.dtype(), p, q.raw(), k.raw(), queue.raw(),
                                              static_cast<const double*>(lse.raw()), g.raw(), n[0] ? dq.raw() : nullptr,
                                              n[1] ? dk.raw() : nullptr);
                       return std::vector<Tensor>{dq, dk, Tensor()};
                     });
  return loss;
}

}  // namespace mtmap::losses
