// The dead-leaves renderer (dead_leaves.h). The CPU paints leaves back to front; here each thread
// owns one pixel of one frame and looks for the topmost leaf over it, front to back, stopping at
// the first: the same pixel, found without drawing the leaves underneath. A block (16×16 pixels of
// one frame) stages the leaves in shared memory a chunk at a time, from the top of the painting
// order down, and stops as soon as each of its pixels has found its leaf. The geometry and texture
// are kernels/common/dead_leaves.h, shared with the CPU renderer.
#include "kernels/cuda/dead_leaves.h"

#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda {
namespace {

using dead_leaves::Leaf;

constexpr int kTile = 16;                 // pixels per block side
constexpr int kChunk = kTile * kTile;     // leaves staged at once: one per thread

__global__ void dead_leaves_kernel(const Leaf* __restrict__ leaves, int n, int height, int width, double camera_vx,
                                   double camera_vy, int64_t frames, uint8_t* __restrict__ out) {
  __shared__ Leaf chunk[kChunk];
  const int tx = int(threadIdx.x), ty = int(threadIdx.y), lin = ty * kTile + tx;
  const int x = int(blockIdx.x) * kTile + tx, y = int(blockIdx.y) * kTile + ty;
  const int64_t t = int64_t(blockIdx.z);
  const bool on_screen = x < width && y < height;
  const float ft = float(t);
  const float camx = float(camera_vx * double(t)), camy = float(camera_vy * double(t));
  bool found = !on_screen;
  int top = -1;  // index of the topmost leaf over the pixel
  for (int end = n; end > 0; end -= kChunk) {
    // Every thread is past the previous chunk before it is overwritten.
    if (!__syncthreads_or(found ? 0 : 1)) break;
    const int begin = end > kChunk ? end - kChunk : 0, count = end - begin;
    if (lin < count) chunk[lin] = leaves[begin + lin];
    __syncthreads();
    for (int i = count - 1; i >= 0 && !found; --i) {
      const Leaf& L = chunk[i];
      const float cx = dead_leaves::screen_x(L, ft, camx), cy = dead_leaves::screen_y(L, ft, camy);
      const float ext = dead_leaves::bounding_radius(L);
      // The CPU renderer's bounds, run and rounding, decided for this one pixel.
      const int xa = max(0, int(floorf(dead_leaves::fsub(cx, ext)))),
                xb = min(width - 1, int(ceilf(dead_leaves::fadd(cx, ext))));
      const int ya = max(0, int(floorf(dead_leaves::fsub(cy, ext)))),
                yb = min(height - 1, int(ceilf(dead_leaves::fadd(cy, ext))));
      if (x < xa || x > xb || y < ya || y > yb) continue;
      float lo, hi;
      const float dy = dead_leaves::fsub(float(y), cy);
      if (!dead_leaves::row_span(L, dy, lo, hi)) continue;
      const int x0 = max(xa, int(ceilf(dead_leaves::fadd(cx, lo)))),
                x1 = min(xb, int(floorf(dead_leaves::fadd(cx, hi))));
      if (x < x0 || x > x1) continue;
      found = true;
      top = begin + i;
    }
  }
  if (!on_screen) return;
  const int64_t plane = frames * int64_t(height) * width, at = (t * height + y) * int64_t(width) + x;
  if (top < 0) {
    const uint8_t grey = dead_leaves::to_level(dead_leaves::kBackground);
    for (int ch = 0; ch < 3; ++ch) out[ch * plane + at] = grey;
    return;
  }
  // The texture walks from the start of the leaf's run on this row, as the CPU's does.
  const Leaf& L = leaves[top];
  const float cx = dead_leaves::screen_x(L, ft, camx), cy = dead_leaves::screen_y(L, ft, camy);
  const float dy = dead_leaves::fsub(float(y), cy);
  float lo, hi;
  dead_leaves::row_span(L, dy, lo, hi);
  const int xa = max(0, int(floorf(dead_leaves::fsub(cx, dead_leaves::bounding_radius(L)))));
  const int x0 = max(xa, int(ceilf(dead_leaves::fadd(cx, lo))));
  dead_leaves::RowTexture tex;
  tex.start(L, dead_leaves::fsub(float(x0), cx), dy);
  float v = 0;
  for (int k = x0; k <= x; ++k) v = tex.step(L);
  v = dead_leaves::fadd(1.f, v);
  for (int ch = 0; ch < 3; ++ch) out[ch * plane + at] = dead_leaves::to_level(dead_leaves::fmul(L.rgb[ch], v));
}

}  // namespace

void render_dead_leaves(const dead_leaves::Leaf* leaves, int n, int64_t frames, int height, int width,
                        double camera_vx, double camera_vy, uint8_t* out, cudaStream_t stream) {
  if (frames <= 0 || height <= 0 || width <= 0) return;
  if (frames > 65535)
    throw std::invalid_argument("cuda launcher render_dead_leaves: " + std::to_string(frames) +
                                " frames, more than a grid's 65535 layers");
  const dim3 grid(unsigned((width + kTile - 1) / kTile), unsigned((height + kTile - 1) / kTile), unsigned(frames));
  launch_kernel(dead_leaves_kernel, grid, dim3(kTile, kTile), 0, stream, leaves, n, height, width, camera_vx,
                camera_vy, frames, out);
  detail::check_launch("render_dead_leaves");
}

}  // namespace mtmap::cuda
