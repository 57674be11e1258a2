#pragma once
// One description of a 3D convolution shared by the CPU and CUDA kernels, the tests and the
// benchmarks (after CUTLASS's conv3d_problem_size.h). Layout NCDHW for activations, KCTRS for
// weights; D is time. Output extents Z (time), P (height), Q (width).
#include <cstdint>

#include "kernels/common/host_device.h"

namespace mtmap {

enum class ConvOperator : uint8_t { fprop, dgrad, wgrad };

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
};

struct Conv3dProblem {
  int64_t N = 0, C = 0, D = 0, H = 0, W = 0;  // input
  int64_t K = 0, T = 0, R = 0, S = 0;         // filters (K, C, T, R, S)
  int64_t pad_d = 0, pad_h = 0, pad_w = 0;
  int64_t stride_d = 1, stride_h = 1, stride_w = 1;
  int64_t dil_d = 1, dil_h = 1, dil_w = 1;
  int64_t Z = 0, P = 0, Q = 0;                // output

  // Fills Z, P, Q from the rest (floor division, as PyTorch and cuDNN do).
  MTMAP_HD void compute_output() {
    Z = (D + 2 * pad_d - dil_d * (T - 1) - 1) / stride_d + 1;
    P = (H + 2 * pad_h - dil_h * (R - 1) - 1) / stride_h + 1;
    Q = (W + 2 * pad_w - dil_w * (S - 1) - 1) / stride_w + 1;
  }

  MTMAP_HD int64_t filter_volume() const { return T * R * S; }
  MTMAP_HD int64_t output_positions() const { return N * Z * P * Q; }
  MTMAP_HD int64_t input_elements() const { return N * C * D * H * W; }
  MTMAP_HD int64_t output_elements() const { return N * K * Z * P * Q; }
  MTMAP_HD int64_t weight_elements() const { return K * C * T * R * S; }

  // FLOPs of one pass (a multiply-add counts 2); the same for all three operators.
  MTMAP_HD int64_t flops() const { return 2 * output_positions() * K * C * filter_volume(); }

  // FLOPs of one pass counting only the filter taps that read input, not zero padding: what a
  // kernel that skips padded taps per output position computes. Per dimension, the (output, tap)
  // pairs that land inside the input; the dimensions are independent.
  MTMAP_HD int64_t effective_flops() const {
    auto inside = [](int64_t out, int64_t taps, int64_t stride, int64_t pad, int64_t dil, int64_t extent) {
      int64_t n = 0;
      for (int64_t o = 0; o < out; ++o)
        for (int64_t t = 0; t < taps; ++t) {
          const int64_t i = o * stride - pad + t * dil;
          n += i >= 0 && i < extent;
        }
      return n;
    };
    return 2 * N * K * C * inside(Z, T, stride_d, pad_d, dil_d, D) * inside(P, R, stride_h, pad_h, dil_h, H) *
           inside(Q, S, stride_w, pad_w, dil_w, W);
  }

  // The implicit-GEMM view of each operator.
  //   fprop: (N·Z·P·Q) × K, reduced over C·T·R·S
  //   dgrad: (N·D·H·W) × C, reduced over K·T·R·S
  //   wgrad: K × (C·T·R·S), reduced over N·Z·P·Q
  MTMAP_HD GemmShape gemm_view(ConvOperator op) const {
    switch (op) {
      case ConvOperator::fprop: return {output_positions(), K, C * filter_volume()};
      case ConvOperator::dgrad: return {N * D * H * W, C, K * filter_volume()};
      case ConvOperator::wgrad: return {K, C * filter_volume(), output_positions()};
    }
    return {};
  }
};

}  // namespace mtmap
