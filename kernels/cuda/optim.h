#pragma once
// CUDA launchers of the optimiser updates over flat buffers: one kernel per step for the whole
// model (f32, f64, bf16; bf16 computes in f32). Same formulas as kernels/cpu/optim.h.
#include "kernels/cuda/dialect.h"

#include <cstdint>

#include "kernels/common/dtype.h"

namespace mtmap::cuda {

// PyTorch's SGD: d = g + wd·mask·p; buf = first ? d : momentum·buf + d; p −= lr·buf.
void sgd_step(DType t, int64_t n, void* params, const void* grads, void* momentum_buf, const void* decay_mask,
              double lr, double momentum, double weight_decay, bool first_step, cudaStream_t stream);
// target = m·target + (1 − m)·source.
void ema_update(DType t, int64_t n, void* target, const void* source, double m, cudaStream_t stream);

}  // namespace mtmap::cuda
