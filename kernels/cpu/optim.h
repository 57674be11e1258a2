#pragma once
// Optimiser updates over flat buffers (one call per step for the whole model).
#include <cstdint>

#include "kernels/common/dtype.h"

namespace mtmap::cpu {

// PyTorch's SGD: d = g + wd·mask·p; buf = first ? d : momentum·buf + d; p −= lr·buf.
void sgd_step(DType t, int64_t n, void* params, const void* grads, void* momentum_buf, const void* decay_mask, double lr,
              double momentum, double weight_decay, bool first_step);
// target = m·target + (1 − m)·source.
void ema_update(DType t, int64_t n, void* target, const void* source, double m);

}  // namespace mtmap::cpu
