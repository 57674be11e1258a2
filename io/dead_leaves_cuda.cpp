// Dead leaves rendered on a CUDA device (io/dead_leaves.h): the scene is drawn on the host from the
// seed (a few hundred leaves, well under a millisecond), uploaded, and rendered by
// kernels/cuda/dead_leaves.cu on the device's compute stream into a uint8 tensor there, so a GPU
// can train on generated video without it ever crossing to the host. Built with the CUDA backend.
#include <cstring>
#include <vector>

#include "engine/context/execution_context.h"
#include "engine/cuda/stream.h"
#include "io/dead_leaves.h"
#include "kernels/cuda/dead_leaves.h"

namespace mtmap::io {

Tensor generate_dead_leaves(const DeadLeavesConfig& c, uint64_t seed, uint64_t index, const Device& device) {
  if (device.is_cpu()) return generate_dead_leaves(c, seed, index);
  MTMAP_CHECK(device.is_cuda(), "dead leaves on {}: only the CPU and CUDA devices render them", device.str());
  const DeadLeavesScene scene = make_dead_leaves_scene(c, seed, index);
  MTMAP_CHECK(c.frames <= 65535, "dead leaves on {}: {} frames in one video, more than the renderer's 65535",
              device.str(), c.frames);
  Tensor out = empty({3, c.frames, c.height, c.width}, DType::u8, device);
  // The leaves travel as bytes; the tensor lives until this call returns, and the caching
  // allocator reuses its block only for work queued after the kernel on the same stream.
  const size_t bytes = scene.leaves.size() * sizeof(dead_leaves::Leaf);
  std::vector<uint8_t> raw(bytes);
  if (bytes) std::memcpy(raw.data(), scene.leaves.data(), bytes);
  const Tensor leaves = from_vector(raw, {int64_t(bytes)}, DType::u8, device);
  const ExecutionContext& ctx = ExecutionContext::current(device);
  cuda::render_dead_leaves(static_cast<const dead_leaves::Leaf*>(leaves.raw()), int(scene.leaves.size()), c.frames,
                           c.height, c.width, scene.camera_vx, scene.camera_vy, static_cast<uint8_t*>(out.raw()),
                           ctx.compute_stream().get());
  return out;
}

}  // namespace mtmap::io
