#pragma once
// InfoNCE in MoCo form (docs/model.md §6).
#include "engine/tensor/tensor.h"

namespace mtmap::losses {

// q, k (N, D), queue (K, D): logits [q_i·k_i, q_i·queue_j] / temperature, cross-entropy with the
// positive at index 0, mean over the N rows. Returns a scalar of q's dtype. Differentiable in q and
// k; the queue takes no gradient (a queue that requires grad is an error). q and k are used as
// given (the MoCo head has already L2-normalised them). CPU and CUDA, f32 and f64.
Tensor info_nce(const Tensor& q, const Tensor& k, const Tensor& queue, double temperature = 0.2);

}  // namespace mtmap::losses
