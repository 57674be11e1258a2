// Direct AVX-512 input gradient of any-stride, undilated convolutions, channels-last:
//   dx[n, c, d, h, w] = Σ_k Σ_{taps t, r, s with d + pd − t = z·sd, …} dy[n, k, z, p, q] · w[k, c, t, r, s]
//
// Why: vol2col's adjoint (GEMM into a column matrix, then col2vol) ran the strided layers' dgrad
// at a third of PyTorch's speed. Split the input positions into phases by (d + pd) mod sd (and
// likewise for h, w): within one phase every position uses the same taps t = φ + sd·j, reading
// dy at z = z0 − j, so a phase is a stride-1 correlation of dy with a sub-filter. Its positions
// go through the channels-last block of channels_last_block.h (input channels = K, output channels
// = C) with dy padded by zero margins, so taps that fall outside dy read zeros; taps that fall
// outside for every position of a block are not listed at all. A phase without taps (a 1×1×1
// stride-2 filter's odd positions) gets zeros. Stride 1 is the one-phase case.
#include <algorithm>
#include <array>
#include <vector>

#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/channels_last_block.h"
#include "kernels/cpu/conv3d_direct.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/scratch.h"

namespace mtmap::cpu {
namespace {

using cl::kLanes;
using cl::kPositions;
using cl::kVectors;

// One spatial axis of the gradient: input extent `in`, output extent `out`, and the zero margins
// of the padded dy along it (j up to ⌈taps / stride⌉ − 1 before, whatever z0 reaches past out − 1
// after).
struct Axis {
  int64_t stride, pad, taps, in, out;
  int64_t before() const { return (taps + stride - 1) / stride - 1; }
  int64_t after() const { return std::max<int64_t>(0, (in - 1 + pad) / stride - (out - 1)); }
  int64_t padded() const { return out + before() + after(); }
  int64_t phase(int64_t i) const { return (i + pad) % stride; }
  int64_t z0(int64_t i) const { return (i + pad) / stride; }  // dy index of tap j = 0
  int64_t phase_taps(int64_t phase) const { return phase < taps ? (taps - phase + stride - 1) / stride : 0; }
  // The input indices of phase φ: first(φ), first(φ) + stride, …, count(φ) of them.
  int64_t first(int64_t phase) const { return ((phase - pad) % stride + stride) % stride; }
  int64_t count(int64_t phase) const { return first(phase) < in ? (in - 1 - first(phase)) / stride + 1 : 0; }
  // j in [lo, hi) whose dy index z0 − j lies in [0, out).
  void valid(int64_t i, int64_t* lo, int64_t* hi) const {
    const int64_t j_max = phase_taps(phase(i));
    *lo = std::max<int64_t>(0, z0(i) - out + 1);
    *hi = std::min(j_max, z0(i) + 1);
    if (*hi < *lo) *hi = *lo;
  }
};

}  // namespace

bool conv3d_dgrad_channels_last_supported(const Conv3dProblem& p) {
  return cpu_has_avx512() && p.dil_d == 1 && p.dil_h == 1 && p.dil_w == 1 && p.C > 0 && p.C % kLanes == 0;
}

void conv3d_dgrad_channels_last(const Conv3dProblem& p, const float* dy, const float* w, float* dx) {
  const Axis ax[3] = {{p.stride_d, p.pad_d, p.T, p.D, p.Z}, {p.stride_h, p.pad_h, p.R, p.H, p.P},
                      {p.stride_w, p.pad_w, p.S, p.W, p.Q}};
  const int64_t Zp = ax[0].padded(), Pp = ax[1].padded(), Qp = ax[2].padded();
  // dy (N, K, Z, P, Q) → dy_p (N, Zp, Pp, Qp, K) with zero margins.
  std::unique_ptr<float[]> dyp = zeroed_buffer<float>(static_cast<size_t>(p.N * Zp * Pp * Qp * p.K));
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t z = 0; z < p.Z; ++z)
      for (int64_t k = 0; k < p.K; ++k)
        for (int64_t row = 0; row < p.P; ++row) {
          const float* src = dy + (((n * p.K + k) * p.Z + z) * p.P + row) * p.Q;
          float* dst = dyp.get() +
                       (((n * Zp + z + ax[0].before()) * Pp + row + ax[1].before()) * Qp + ax[2].before()) * p.K + k;
          for (int64_t q = 0; q < p.Q; ++q) dst[q * p.K] = src[q];
        }
  // Weights (K, C, T, R, S) → (T, R, S, K, C).
  const int64_t taps = p.filter_volume();
  std::unique_ptr<float[]> wdg = uninitialized_buffer<float>(static_cast<size_t>(p.weight_elements()));
#pragma omp parallel for schedule(static)
  for (int64_t tk = 0; tk < taps * p.K; ++tk) {
    const int64_t tap = tk / p.K, k = tk % p.K;
    for (int64_t c = 0; c < p.C; ++c) wdg[tk * p.C + c] = w[(k * p.C + c) * taps + tap];
  }
  // Input positions by phase (φd, φh, φw), in (n, d, h, w) order within a phase: position i of a
  // phase is found from i, nothing is listed.
  const int64_t phases = p.stride_d * p.stride_h * p.stride_w;
  auto phase_of = [&](int64_t ph) {
    return std::array<int64_t, 3>{ph / (p.stride_h * p.stride_w), (ph / p.stride_w) % p.stride_h, ph % p.stride_w};
  };
  auto phase_size = [&](const std::array<int64_t, 3>& phi) {
    return p.N * ax[0].count(phi[0]) * ax[1].count(phi[1]) * ax[2].count(phi[2]);
  };
  // A job is 8 blocks of one phase sharing one tap list: a strided phase has few taps (27 / 8 on
  // average at stride 2), so one block's work alone would not repay building its list.
  constexpr int64_t kJobPositions = 8 * kPositions;
  struct Job {
    int64_t phase, first, c0;
  };
  std::vector<Job> jobs;
  for (int64_t ph = 0; ph < phases; ++ph)
    for (int64_t first = 0; first < phase_size(phase_of(ph)); first += kJobPositions)
      for (int64_t c0 = 0; c0 < p.C; c0 += kVectors * kLanes) jobs.push_back({ph, first, c0});

  std::unique_ptr<float[]> dx_rows = uninitialized_buffer<float>(static_cast<size_t>(p.input_elements()));
#pragma omp parallel
  {
    std::vector<cl::Tap> list;  // this thread's tap list, rebuilt per block
    list.reserve(static_cast<size_t>(taps));
#pragma omp for schedule(static)
    for (size_t i = 0; i < jobs.size(); ++i) {
      const Job& job = jobs[i];
      const std::array<int64_t, 3> phase = phase_of(job.phase);
      const int64_t cnt[3] = {ax[0].count(phase[0]), ax[1].count(phase[1]), ax[2].count(phase[2])};
      const int64_t count = std::min<int64_t>(kJobPositions, phase_size(phase) - job.first);
      const int kv = int(std::min<int64_t>(kVectors, (p.C - job.c0) / kLanes));
      // Position j of the job: its sample and input indices.
      auto input_of = [&](int64_t j, int64_t* n, int64_t in[3]) {
        int64_t i = job.first + j;
        for (int a = 2; a >= 0; --a) {
          in[a] = ax[a].first(phase[a]) + (i % cnt[a]) * ax[a].stride;
          i /= cnt[a];
        }
        *n = i;
      };
      // The phase's taps (the same for every position of the job), cut to the j that some
      // position reads real dy with.
      int64_t lo[3] = {INT64_MAX, INT64_MAX, INT64_MAX}, hi[3] = {0, 0, 0};
      for (int64_t j = 0; j < count; ++j) {
        int64_t n, in[3];
        input_of(j, &n, in);
        for (int a = 0; a < 3; ++a) {
          int64_t a_lo, a_hi;
          ax[a].valid(in[a], &a_lo, &a_hi);
          if (a_lo < a_hi) lo[a] = std::min(lo[a], a_lo), hi[a] = std::max(hi[a], a_hi);
        }
      }
      list.clear();
      for (int64_t jt = lo[0]; jt < hi[0]; ++jt)
        for (int64_t jr = lo[1]; jr < hi[1]; ++jr)
          for (int64_t js = lo[2]; js < hi[2]; ++js) {
            const int64_t t = phase[0] + jt * p.stride_d, r = phase[1] + jr * p.stride_h,
                          s = phase[2] + js * p.stride_w;
            list.push_back({-((jt * Pp + jr) * Qp + js) * p.K, wdg.get() + ((t * p.R + r) * p.S + s) * p.K * p.C + job.c0});
          }
      for (int64_t b = 0; b < count; b += kPositions) {
        const int pb = int(std::min<int64_t>(kPositions, count - b));
        int64_t base[kPositions];
        float* out[kPositions];
        for (int j = 0; j < pb; ++j) {
          int64_t n, in[3];
          input_of(b + j, &n, in);
          base[j] = (((n * Zp + ax[0].z0(in[0]) + ax[0].before()) * Pp + ax[1].z0(in[1]) + ax[1].before()) * Qp +
                     ax[2].z0(in[2]) + ax[2].before()) *
                    p.K;
          out[j] = dx_rows.get() + (((n * p.D + in[0]) * p.H + in[1]) * p.W + in[2]) * p.C + job.c0;
        }
        cl::run_block(pb, kv, dyp.get(), base, list.data(), int(list.size()), p.K, p.C, out);
      }
    }
  }
  const int64_t dhw = p.D * p.H * p.W;
  for (int64_t n = 0; n < p.N; ++n) rows_to_planes(p.C, dhw, dx_rows.get() + n * dhw * p.C, dx + n * p.C * dhw);
}

}  // namespace mtmap::cpu
