#pragma once
// The InfoNCE loss on the CPU (f32 and f64 inputs; every sum accumulated in double, in a fixed
// order, so results do not depend on the thread count).
#include <cstdint>

#include "kernels/common/dtype.h"
#include "kernels/common/info_nce.h"

namespace mtmap::cpu {

// Returns the mean loss; writes the per-row log-sum-exp of the logits to lse (N).
double info_nce_forward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue, double* lse);
// grad: dLoss. Recomputes the logits row by row (the softmax is never stored) and writes dq, dk
// (N, D); either may be null when not wanted.
void info_nce_backward(DType t, const InfoNceParams& p, const void* q, const void* k, const void* queue,
                       const double* lse, double grad, void* dq, void* dk);

}  // namespace mtmap::cpu
