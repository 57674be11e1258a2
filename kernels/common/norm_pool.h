#pragma once
// Problem structs of batch norm and 3D pooling, shared by the CPU and CUDA kernels. Activations
// are viewed as (N, C, S) for batch norm (S = every axis after C) and (N·C, D, H, W) for pooling.
#include <cstdint>

namespace mtmap {

struct BatchNormShape {
  int64_t N = 0, C = 0, S = 0;
};

struct Pool3dShape {
  int64_t planes = 0;        // N·C
  int64_t D = 0, H = 0, W = 0;
  int64_t Z = 0, P = 0, Q = 0;  // output
  int64_t kd = 1, kh = 1, kw = 1, sd = 1, sh = 1, sw = 1, pd = 0, ph = 0, pw = 0;
};

}  // namespace mtmap
