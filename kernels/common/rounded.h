#pragma once
// Float arithmetic rounded after every operation on both sides: on a CUDA device through the _rn
// intrinsics (nvcc would otherwise fuse a product and a sum into one FMA, rounded once), on the
// host as written (host code is compiled without contraction). Code shared by a CPU reference and
// a CUDA kernel that must give the same bits (the dead-leaves renderer, the clip augmentations)
// writes its arithmetic with these.
#include "kernels/common/host_device.h"

namespace mtmap::rounded {

MTMAP_HD inline float fmul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
MTMAP_HD inline float fadd(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
MTMAP_HD inline float fsub(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
MTMAP_HD inline float fdiv(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

}  // namespace mtmap::rounded
