#pragma once
// Procedural naturalistic video for when no data set is at hand: moving "dead leaves". Occluding
// ellipses and rectangles with power-law sizes (p(r) ∝ r^-3, the scale-invariant dead-leaves law
// that gives natural images their 1/f² power spectrum), each textured with a few gratings whose
// amplitudes fall as 1/f, each moving with its own random velocity, all seen through a camera
// that itself moves with a random velocity. Directions are uniform and speeds spread from zero
// to the maxima, so every direction and speed of motion is present. Deterministic per seed.
#include <cstdint>
#include <vector>

#include "engine/tensor/tensor.h"
#include "kernels/common/dead_leaves.h"

namespace mtmap::io {

struct DeadLeavesConfig {
  int height = 128, width = 128;
  int64_t frames = 48;                         // a generated video; clips are sampled from it like from a file
  double radius_min = 2.0, radius_max = 48.0;  // px
  double coverage = 4.0;                       // mean number of leaves over a point of the scene
  double object_speed_max = 3.0;               // px/frame
  double camera_speed_max = 2.0;               // px/frame
  int texture_gratings = 3;                    // per leaf
  double texture_contrast = 0.35;              // amplitude of a leaf's texture relative to its colour
};

// What video `index` of the stream defined by `seed` shows: the leaves that cross the screen, in
// painting order (back to front), and the camera's velocity (px/frame). Drawn from the seed alone.
struct DeadLeavesScene {
  std::vector<dead_leaves::Leaf> leaves;
  double camera_vx = 0, camera_vy = 0;
};
DeadLeavesScene make_dead_leaves_scene(const DeadLeavesConfig& config, uint64_t seed, uint64_t index);

// Video `index` of the stream defined by `seed`: uint8 (3, frames, height, width), on the CPU.
Tensor generate_dead_leaves(const DeadLeavesConfig& config, uint64_t seed, uint64_t index);
// The same video rendered on `device`: the CPU's, or a CUDA device's (the scene is drawn on the
// host, uploaded, and rendered by kernels/cuda/dead_leaves.cu into device memory; the pixels equal
// the CPU's but for the last bit of a texture's sine, docs/data.md). A CUDA device in a build
// without the CUDA backend is an error naming the device.
Tensor generate_dead_leaves(const DeadLeavesConfig& config, uint64_t seed, uint64_t index, const Device& device);

}  // namespace mtmap::io
