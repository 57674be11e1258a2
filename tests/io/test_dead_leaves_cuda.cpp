// Dead leaves rendered on a CUDA device (kernels/cuda/dead_leaves.cu) against the CPU renderer:
// the same scenes, so the same pixels (all but a few within one level, most of them equal) and
// the same statistics (mean, contrast, motion energy per direction). Needs a GPU: without one
// every test exits 77 (skipped); on the CPU emulator of the CUDA runtime in CI's emulated build.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "engine/context/execution_context.h"
#include "engine/cuda/stream.h"
#include "engine/core/device_support.h"
#include "io/dead_leaves.h"
#include "kernels/cuda/dead_leaves.h"
#include "tests/io/spectrum.h"

using namespace mtmap;
using namespace mtmap::io;

namespace {

void require_gpu() {
  if (cuda_device_count() == 0) std::exit(77);
}

std::vector<uint8_t> bytes(const Tensor& t) { return t.to(Device::cpu()).to_vector<uint8_t>(); }

std::vector<float> luminance(const std::vector<uint8_t>& p) {  // (3, T, H, W) → (T, H, W)
  const size_t n = p.size() / 3;
  std::vector<float> l(n);
  for (size_t i = 0; i < n; ++i) l[i] = (0.299f * p[i] + 0.587f * p[n + i] + 0.114f * p[2 * n + i]) / 255.f;
  return l;
}

struct Moments {
  double mean = 0, sd = 0;
};
Moments moments(const std::vector<float>& v) {
  Moments m;
  for (float x : v) m.mean += x / double(v.size());
  for (float x : v) m.sd += (x - m.mean) * (x - m.mean) / double(v.size());
  m.sd = std::sqrt(m.sd);
  return m;
}

}  // namespace

TEST_CASE("dead leaves on cuda: the CPU renderer's pixels, scene by scene", "[io][cuda]") {
  require_gpu();
  // Ragged tiles (40 × 56 is no multiple of 16), thousands of leaves (many staged chunks).
  DeadLeavesConfig c;
  c.height = 40, c.width = 56, c.frames = 12;
  size_t pixels = 0, equal = 0, leaves = 0, most = 0;
  int worst = 0;
  for (uint64_t index = 0; index < 3; ++index) {
    const Tensor gpu = generate_dead_leaves(c, 5, index, Device::cuda(0));
    CHECK(gpu.device() == Device::cuda(0));
    REQUIRE(gpu.shape() == Shape{3, 12, 40, 56});
    const std::vector<uint8_t> a = bytes(gpu), b = bytes(generate_dead_leaves(c, 5, index));
    const size_t n = make_dead_leaves_scene(c, 5, index).leaves.size();
    leaves += n, most = std::max(most, n);
    for (size_t i = 0; i < a.size(); ++i) {
      const int d = std::abs(int(a[i]) - int(b[i]));
      worst = std::max(worst, d);
      equal += d == 0;
    }
    pixels += a.size();
  }
  INFO(equal << " of " << pixels << " values equal, worst difference " << worst << " levels, " << leaves
             << " leaves in 3 scenes");
  CHECK(most > 256);  // more leaves than one staged chunk
  // The geometry is the same arithmetic on both; only a texture's starting sine may differ in its
  // last bit (the device's sin in double against the host's sinf), which moves a level by one.
  CHECK(worst <= 1);
  CHECK(double(equal) >= 0.999 * double(pixels));
}

TEST_CASE("dead leaves on cuda: the CPU generator's statistics", "[io][cuda]") {
  require_gpu();
  const int T = 16, S = 32, bins = 8;
  DeadLeavesConfig c;
  c.height = c.width = S;
  c.frames = T;
  std::vector<double> gpu_energy(bins, 0.0), cpu_energy(bins, 0.0);
  std::vector<float> gpu_all, cpu_all;
  for (uint64_t i = 0; i < 6; ++i) {
    const std::vector<float> g = luminance(bytes(generate_dead_leaves(c, 9, i, Device::cuda(0))));
    const std::vector<float> h = luminance(bytes(generate_dead_leaves(c, 9, i)));
    const auto eg = test::motion_energy_by_direction(g, T, S, S, bins), eh = test::motion_energy_by_direction(h, T, S, S, bins);
    for (int k = 0; k < bins; ++k) gpu_energy[size_t(k)] += eg[size_t(k)], cpu_energy[size_t(k)] += eh[size_t(k)];
    gpu_all.insert(gpu_all.end(), g.begin(), g.end());
    cpu_all.insert(cpu_all.end(), h.begin(), h.end());
  }
  const Moments mg = moments(gpu_all), mh = moments(cpu_all);
  INFO("mean " << mg.mean << " vs " << mh.mean << ", sd " << mg.sd << " vs " << mh.sd);
  CHECK(std::fabs(mg.mean - mh.mean) < 1e-3);
  CHECK(std::fabs(mg.sd - mh.sd) < 1e-3 * mh.sd);
  for (int k = 0; k < bins; ++k) {
    INFO("direction " << k * 360 / bins << " deg: " << gpu_energy[size_t(k)] << " vs " << cpu_energy[size_t(k)]);
    CHECK(std::fabs(gpu_energy[size_t(k)] - cpu_energy[size_t(k)]) <= 1e-3 * cpu_energy[size_t(k)]);
  }
}

TEST_CASE("dead leaves on cuda: the launcher's edges", "[io][cuda]") {
  require_gpu();
  // No leaves: the background grey everywhere.
  Tensor out = empty({3, 2, 5, 7}, DType::u8, Device::cuda(0));
  cudaStream_t stream = ExecutionContext::current(Device::cuda(0)).compute_stream().get();
  cuda::render_dead_leaves(nullptr, 0, 2, 5, 7, 0.0, 0.0, static_cast<uint8_t*>(out.raw()), stream);
  for (uint8_t v : bytes(out)) CHECK(v == dead_leaves::to_level(dead_leaves::kBackground));
  // Nothing to draw is no launch; more frames than a grid holds is an error naming the launcher.
  CHECK_NOTHROW(cuda::render_dead_leaves(nullptr, 0, 0, 5, 7, 0.0, 0.0, nullptr, nullptr));
  CHECK_THROWS_WITH(cuda::render_dead_leaves(nullptr, 0, 70000, 5, 7, 0.0, 0.0, nullptr, nullptr),
                    Catch::Contains("render_dead_leaves") && Catch::Contains("70000 frames"));
  // The CPU device through the same entry point is the CPU renderer.
  DeadLeavesConfig c;
  c.height = c.width = 16, c.frames = 3;
  CHECK(bytes(generate_dead_leaves(c, 2, 1, Device::cpu())) == bytes(generate_dead_leaves(c, 2, 1)));
}
