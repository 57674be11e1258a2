#pragma once
// Probing a network as an electrophysiologist would (docs/measurements.md §1): drifting gratings at
// every direction × wavelength × period × phase, plus one uniform grey clip, batched through a
// block of the model; each unit's response is the block output averaged over time
// (docs/model.md §2, unit u = c·H·W + h·W + w). Model-agnostic: the network is a callback, so tests
// can probe anything.
#include <array>
#include <functional>

#include "analysis/config.h"
#include "analysis/responses.h"
#include "engine/core/device.h"
#include "engine/tensor/tensor.h"

namespace mtmap::analysis {

// clips (N, 3, T, S, S) f32 on the probe's device, already normalised → block output
// (N, C, T', H, W) on any device. Called under NoGradGuard.
using BlockFunction = std::function<Tensor(const Tensor& clips)>;

struct ProbeInput {
  int frames = 16, size = 112;  // the clip
  // Per-channel (x − mean)/std applied to every clip: the model's input normalisation.
  std::array<double, 3> mean = {0, 0, 0}, std = {1, 1, 1};
  Device device = Device::cpu();
};

struct ProbeProgress {
  int batches_done = 0, batches = 0;
  int clips_done = 0, clips = 0;
  double seconds = 0;
};

struct ProbeResult {
  ResponseArray responses;                                        // (units, directions, wavelengths, periods, phases)
  std::vector<double> baseline;                                   // (units): the grey clip
  int64_t channels = 0, height = 0, width = 0, block_frames = 0;  // the block output per clip
  int clips = 0, batches = 0;
  double seconds = 0;  // wall time of generating, forwarding and averaging
};

// The stimulus of sweep index k = ((d·S + s)·F + f)·P + p, the order of ResponseArray's last four
// axes (d direction, s wavelength, f period, p phase); k = (number of gratings) is the grey clip.
struct StimulusIndex {
  int direction = 0, wavelength = 0, period = 0, phase = 0;
  bool grey = false;
};
StimulusIndex stimulus_index(const ProbeConfig& cfg, int k);
int stimulus_count(const ProbeConfig& cfg);  // gratings + 1 grey clip

// f32 (3, T, S, S), normalised: the clip of sweep index k.
Tensor probe_clip(const ProbeConfig& cfg, const ProbeInput& in, int k);

ProbeResult probe_gratings(const BlockFunction& block, const ProbeConfig& cfg, const ProbeInput& in,
                           const std::function<void(const ProbeProgress&)>& progress = {});

}  // namespace mtmap::analysis
