#pragma once
// The argument checks every op makes before it reaches its backend (engine/backend/backend.h):
// each names the op and what it got. Public, so ops outside engine/ (losses/) check alike.
#include <initializer_list>

#include "engine/tensor/tensor.h"

namespace mtmap::checks {

// All tensors on one device; names the op and each device otherwise.
void same_device(const char* op, std::initializer_list<const Tensor*> ts);
// dtype must be one of the floating types the op's backend computes in (f32, f64; bf16 on CUDA).
void floating(const char* op, const Tensor& t);
void same_dtype(const char* op, const Tensor& a, const Tensor& b);

}  // namespace mtmap::checks
