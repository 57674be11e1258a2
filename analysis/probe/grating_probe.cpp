#include "analysis/probe/grating_probe.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include "engine/autograd/grad_mode.h"
#include "engine/core/error.h"
#include "io/grating.h"
#include "losses/spatial_loss.h"

namespace mtmap::analysis {

int stimulus_count(const ProbeConfig& cfg) {
  return cfg.directions * int(cfg.wavelengths_px.size()) * int(cfg.periods_frames.size()) * cfg.phases + 1;
}

StimulusIndex stimulus_index(const ProbeConfig& cfg, int k) {
  const int S = int(cfg.wavelengths_px.size()), F = int(cfg.periods_frames.size()), P = cfg.phases;
  MTMAP_CHECK(k >= 0 && k < stimulus_count(cfg), "probe: stimulus {} outside [0, {})", k, stimulus_count(cfg));
  StimulusIndex s;
  if (k == stimulus_count(cfg) - 1) {
    s.grey = true;
    return s;
  }
  s.phase = k % P;
  k /= P;
  s.period = k % F;
  k /= F;
  s.wavelength = k % S;
  s.direction = k / S;
  return s;
}

Tensor probe_clip(const ProbeConfig& cfg, const ProbeInput& in, int k) {
  const StimulusIndex s = stimulus_index(cfg, k);
  io::GratingParams g;
  if (s.grey) {
    g.contrast = 0;  // 0.5 everywhere: the same generator, so grey and gratings share their mean
  } else {
    g.direction_deg = 360.0 * s.direction / cfg.directions;
    g.spatial_freq = 1.0 / cfg.wavelengths_px[size_t(s.wavelength)];
    g.temporal_freq = 1.0 / cfg.periods_frames[size_t(s.period)];
    g.phase = 2 * M_PI * s.phase / cfg.phases;
    g.contrast = cfg.contrast;
  }
  Tensor clip = io::drifting_grating(g, in.frames, in.size, in.size);  // (3, T, S, S) in [0, 1]
  float* v = clip.data<float>();
  const int64_t plane = int64_t(in.frames) * in.size * in.size;
  for (int c = 0; c < 3; ++c) {
    const double mean = in.mean[size_t(c)], inv_std = 1.0 / in.std[size_t(c)];
    for (int64_t i = 0; i < plane; ++i) v[c * plane + i] = float((v[c * plane + i] - mean) * inv_std);
  }
  return clip;
}

ProbeResult probe_gratings(const BlockFunction& block, const ProbeConfig& cfg, const ProbeInput& in,
                           const std::function<void(const ProbeProgress&)>& progress) {
  MTMAP_CHECK(in.frames >= 1 && in.size >= 1, "probe: empty clip {} frames × {}²", in.frames, in.size);
  for (double s : in.std) MTMAP_CHECK(s > 0, "probe: input normalisation std {} (need > 0)", s);
  const auto start = std::chrono::steady_clock::now();
  const int K = stimulus_count(cfg), gratings = K - 1, B = cfg.batch_size;
  MTMAP_CHECK(B >= 1, "probe: batch size {} (need ≥ 1)", B);
  ProbeResult r;
  r.clips = K;
  r.batches = (K + B - 1) / B;
  ResponseArray& a = r.responses;
  a.directions = cfg.directions, a.sfs = int(cfg.wavelengths_px.size()), a.tfs = int(cfg.periods_frames.size()),
  a.phases = cfg.phases;
  const int64_t clip_numel = 3 * int64_t(in.frames) * in.size * in.size;
  autograd::NoGradGuard no_grad;
  for (int b = 0; b < r.batches; ++b) {
    const int first = b * B, n = std::min(B, K - first);
    Tensor x = empty({n, 3, in.frames, in.size, in.size}, DType::f32);
    for (int i = 0; i < n; ++i)
      std::memcpy(x.data<float>() + i * clip_numel, probe_clip(cfg, in, first + i).data<float>(),
                  size_t(clip_numel) * sizeof(float));
    const Tensor out = block(x.to(in.device));
    MTMAP_CHECK(out.ndim() == 5 && out.size(0) == n, "probe: the block returned {} for {} clips (need (N, C, T, H, W))",
                shape_str(out.shape()), n);
    if (b == 0) {
      r.channels = out.size(1), r.block_frames = out.size(2), r.height = out.size(3), r.width = out.size(4);
      const int64_t units = r.channels * r.height * r.width;
      MTMAP_CHECK(units <= INT32_MAX && units * gratings < int64_t(1) << 34,
                  "probe: {} units × {} gratings is too large to hold", units, gratings);
      a.units = int(units);
      a.values.assign(size_t(units) * size_t(gratings), 0.0);
      r.baseline.assign(size_t(units), 0.0);
    }
    MTMAP_CHECK(out.size(1) == r.channels && out.size(3) == r.height && out.size(4) == r.width,
                "probe: batch {} gave block output {}, the first batch (…, {}, …, {}, {})", b, shape_str(out.shape()),
                r.channels, r.height, r.width);
    // (n, U) on the host in double: the mean over T of the block output, as the spatial loss sees it.
    const std::vector<double> resp =
        losses::unit_responses(out).to(Device::cpu()).to(DType::f64).contiguous().to_vector<double>();
    const size_t U = size_t(a.units);
    for (int i = 0; i < n; ++i) {
      const int k = first + i;
      const double* row = resp.data() + size_t(i) * U;
      if (k == gratings) {
        std::copy(row, row + U, r.baseline.begin());
      } else {
        for (size_t u = 0; u < U; ++u) a.values[u * size_t(gratings) + size_t(k)] = row[u];
      }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (progress) progress({b + 1, r.batches, first + n, K, r.seconds});
  }
  return r;
}

}  // namespace mtmap::analysis
