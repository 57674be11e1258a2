#pragma once
// The problem struct of 3D pooling, shared by the CPU and CUDA kernels: activations viewed as
// (N·C, D, H, W) planes.
#include <cstdint>

namespace mtmap {

struct Pool3dShape {
  int64_t planes = 0;        // N·C
  int64_t D = 0, H = 0, W = 0;
  int64_t Z = 0, P = 0, Q = 0;  // output
  int64_t kd = 1, kh = 1, kw = 1, sd = 1, sh = 1, sw = 1, pd = 0, ph = 0, pw = 0;
};

}  // namespace mtmap
