#pragma once
// The dead-leaves renderer on a CUDA device: draws a scene made on the host
// (io::make_dead_leaves_scene) into uint8 video in device memory, the pixels the CPU renderer
// (io/dead_leaves.cpp) draws from the same scene.
#include "kernels/cuda/dialect.h"

#include <cstdint>

#include "kernels/common/dead_leaves.h"

namespace mtmap::cuda {

// `leaves` (n of them, painting order, in device memory) → `out` (3, frames, height, width) uint8
// in device memory. The camera moves by (camera_vx, camera_vy) px per frame.
void render_dead_leaves(const dead_leaves::Leaf* leaves, int n, int64_t frames, int height, int width,
                        double camera_vx, double camera_vy, uint8_t* out, cudaStream_t stream);

}  // namespace mtmap::cuda
