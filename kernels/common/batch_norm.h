#pragma once
// The problem struct of batch norm, shared by the CPU and CUDA kernels: activations viewed as
// (N, C, S), S = every axis after C.
#include <cstdint>

namespace mtmap {

struct BatchNormShape {
  int64_t N = 0, C = 0, S = 0;
};

}  // namespace mtmap
