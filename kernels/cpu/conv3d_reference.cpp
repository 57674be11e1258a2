// Direct-loop 3D convolution: slow, obviously correct, any float type.
#include "kernels/cpu/conv3d_reference.h"

namespace mtmap::cpu {

template <class T>
void conv3d_fprop_reference(const Conv3dProblem& p, const T* x, const T* w, T* y) {
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t k = 0; k < p.K; ++k)
      for (int64_t z = 0; z < p.Z; ++z)
        for (int64_t q0 = 0; q0 < p.P; ++q0)
          for (int64_t q1 = 0; q1 < p.Q; ++q1) {
            double acc = 0;
            for (int64_t c = 0; c < p.C; ++c)
              for (int64_t t = 0; t < p.T; ++t) {
                int64_t d = z * p.stride_d - p.pad_d + t * p.dil_d;
                if (d < 0 || d >= p.D) continue;
                for (int64_t r = 0; r < p.R; ++r) {
                  int64_t h = q0 * p.stride_h - p.pad_h + r * p.dil_h;
                  if (h < 0 || h >= p.H) continue;
                  for (int64_t s = 0; s < p.S; ++s) {
                    int64_t ww = q1 * p.stride_w - p.pad_w + s * p.dil_w;
                    if (ww < 0 || ww >= p.W) continue;
                    acc += double(x[(((n * p.C + c) * p.D + d) * p.H + h) * p.W + ww]) *
                           double(w[(((k * p.C + c) * p.T + t) * p.R + r) * p.S + s]);
                  }
                }
              }
            y[(((n * p.K + k) * p.Z + z) * p.P + q0) * p.Q + q1] = T(acc);
          }
}

// Input position i along an axis receives output o = (i + pad - tap*dil) / stride when that
// division is exact and o is in range.
static inline bool source(int64_t i, int64_t pad, int64_t tap, int64_t dil, int64_t stride, int64_t extent,
                          int64_t* o) {
  int64_t num = i + pad - tap * dil;
  if (num < 0 || num % stride != 0) return false;
  *o = num / stride;
  return *o < extent;
}

template <class T>
void conv3d_dgrad_reference(const Conv3dProblem& p, const T* dy, const T* w, T* dx) {
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t d = 0; d < p.D; ++d)
        for (int64_t h = 0; h < p.H; ++h)
          for (int64_t ww = 0; ww < p.W; ++ww) {
            double acc = 0;
            for (int64_t k = 0; k < p.K; ++k)
              for (int64_t t = 0; t < p.T; ++t) {
                int64_t z;
                if (!source(d, p.pad_d, t, p.dil_d, p.stride_d, p.Z, &z)) continue;
                for (int64_t r = 0; r < p.R; ++r) {
                  int64_t q0;
                  if (!source(h, p.pad_h, r, p.dil_h, p.stride_h, p.P, &q0)) continue;
                  for (int64_t s = 0; s < p.S; ++s) {
                    int64_t q1;
                    if (!source(ww, p.pad_w, s, p.dil_w, p.stride_w, p.Q, &q1)) continue;
                    acc += double(dy[(((n * p.K + k) * p.Z + z) * p.P + q0) * p.Q + q1]) *
                           double(w[(((k * p.C + c) * p.T + t) * p.R + r) * p.S + s]);
                  }
                }
              }
            dx[(((n * p.C + c) * p.D + d) * p.H + h) * p.W + ww] = T(acc);
          }
}

template <class T>
void conv3d_wgrad_reference(const Conv3dProblem& p, const T* x, const T* dy, T* dw) {
  for (int64_t k = 0; k < p.K; ++k)
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t t = 0; t < p.T; ++t)
        for (int64_t r = 0; r < p.R; ++r)
          for (int64_t s = 0; s < p.S; ++s) {
            double acc = 0;
            for (int64_t n = 0; n < p.N; ++n)
              for (int64_t z = 0; z < p.Z; ++z) {
                int64_t d = z * p.stride_d - p.pad_d + t * p.dil_d;
                if (d < 0 || d >= p.D) continue;
                for (int64_t q0 = 0; q0 < p.P; ++q0) {
                  int64_t h = q0 * p.stride_h - p.pad_h + r * p.dil_h;
                  if (h < 0 || h >= p.H) continue;
                  for (int64_t q1 = 0; q1 < p.Q; ++q1) {
                    int64_t ww = q1 * p.stride_w - p.pad_w + s * p.dil_w;
                    if (ww < 0 || ww >= p.W) continue;
                    acc += double(x[(((n * p.C + c) * p.D + d) * p.H + h) * p.W + ww]) *
                           double(dy[(((n * p.K + k) * p.Z + z) * p.P + q0) * p.Q + q1]);
                  }
                }
              }
            dw[(((k * p.C + c) * p.T + t) * p.R + r) * p.S + s] = T(acc);
          }
}

template void conv3d_fprop_reference<float>(const Conv3dProblem&, const float*, const float*, float*);
template void conv3d_fprop_reference<double>(const Conv3dProblem&, const double*, const double*, double*);
template void conv3d_dgrad_reference<float>(const Conv3dProblem&, const float*, const float*, float*);
template void conv3d_dgrad_reference<double>(const Conv3dProblem&, const double*, const double*, double*);
template void conv3d_wgrad_reference<float>(const Conv3dProblem&, const float*, const float*, float*);
template void conv3d_wgrad_reference<double>(const Conv3dProblem&, const double*, const double*, double*);

}  // namespace mtmap::cpu
