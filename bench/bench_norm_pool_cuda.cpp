// bench_norm_pool_cuda: the memory-bound training kernels on the GPU at full-scale ResNet shapes
// (batch 8, 16×112² clips): batch norm (train, fused ReLU) forward and forward + backward, max
// pool 3³/2 (Hara stem) forward + backward, the residual add_relu, the global average pool, and
// SGD / EMA over a flat buffer of r3d-18's 33.4 M parameters. Each is first checked against the
// CPU op at a smaller batch, then timed with events on the op's stream (median of 20 after 3
// warm-ups). Its bytes are the fewest it must move (each input read once per pass, each output
// written once), reported as GB/s and as a fraction of a device-to-device copy timed in the same
// run. JSON lines starting with '{'; exits 0 with a note and no JSON where there is no GPU.
#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/core/device_support.h"
#include "engine/context/execution_context.h"
#include "engine/cuda/stream.h"
#include "engine/nn/flat_parameters.h"
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/norm_pool.h"
#include "engine/optim/sgd.h"
#include "engine/random/generator.h"

namespace {

using namespace mtmap;
using json = nlohmann::json;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(fmt::format("{}: {}", what, cudaGetErrorString(e)));
}

// Median milliseconds of f on cuda:0's stream (events around each run).
double median_ms(const std::function<void()>& f, int warmup = 3, int reps = 20) {
  cudaStream_t s = ExecutionContext::default_for(Device::cuda(0)).compute_stream().get();
  for (int i = 0; i < warmup; ++i) f();
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "cudaEventCreate");
  check(cudaEventCreate(&b), "cudaEventCreate");
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    check(cudaEventRecord(a, s), "cudaEventRecord");
    f();
    check(cudaEventRecord(b, s), "cudaEventRecord");
    check(cudaEventSynchronize(b), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// ‖gpu − cpu‖ / ‖cpu‖ (NaN anywhere → infinity): the validation before timing. Norm-relative, as
// elementwise ratios blow up on gradients that cancel to near 0.
double rel_error(const Tensor& cpu, const Tensor& gpu) {
  std::vector<double> w = cpu.to_vector<double>(), g = gpu.to(Device::cpu()).to_vector<double>();
  double num = 0, den = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    num += (g[i] - w[i]) * (g[i] - w[i]);
    den += w[i] * w[i];
  }
  double r = std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
  return std::isnan(r) ? INFINITY : r;
}

class OneParameter : public nn::Module {
 public:
  explicit OneParameter(const Tensor& v) { register_parameter("p", v, /*decay=*/true); }
};

struct Row {
  std::string kernel, shape;
  double bytes, ms, worst;
};

}  // namespace

int main() {
  if (cuda_device_count() == 0) {
    std::printf("bench_norm_pool_cuda: no usable CUDA device: nothing to time\n");
    return 0;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  const Device gpu = Device::cuda(0);
  Generator gen(1);
  std::vector<Row> rows;

  // The ceiling: a device-to-device copy of 512 MB (bytes read + bytes written).
  const size_t copy_bytes = size_t(512) << 20;
  Tensor c0 = empty({int64_t(copy_bytes)}, DType::u8, gpu), c1 = empty({int64_t(copy_bytes)}, DType::u8, gpu);
  double copy_ms = median_ms([&] {
    check(cudaMemcpyAsync(c1.raw(), c0.raw(), copy_bytes, cudaMemcpyDeviceToDevice, ExecutionContext::default_for(Device::cuda(0)).compute_stream().get()),
          "cudaMemcpyAsync");
  });
  const double copy_gbps = 2.0 * double(copy_bytes) / (copy_ms * 1e6);
  c0 = Tensor(), c1 = Tensor();

  // Batch norm + ReLU on layer1's activation (N 8, C 64, 16×56×56 = 25.7 M values, 103 MB f32).
  auto bn_case = [&](bool backward, const Tensor& x0, const Tensor& g0, Device d, Tensor* y_out) {
    Tensor x = x0.to(d).detach(), w = ones({64}, DType::f32, d), b = zeros({64}, DType::f32, d);
    Tensor rm = zeros({64}, DType::f32, d), rv = ones({64}, DType::f32, d);
    if (backward) x.set_requires_grad(true);
    BatchNormOptions o;
    o.relu = true;
    Tensor y = batch_norm(x, w, b, rm, rv, o);
    if (backward) y.backward(g0.to(d));
    if (y_out) *y_out = backward ? x.grad() : y;
  };
  for (bool backward : {false, true}) {
    Tensor xs = randn({1, 64, 16, 56, 56}, gen), gs = randn({1, 64, 16, 56, 56}, gen);
    Tensor want, got;
    bn_case(backward, xs, gs, Device::cpu(), &want);
    bn_case(backward, xs, gs, gpu, &got);
    double worst = rel_error(want, got);
    Tensor x = randn({8, 64, 16, 56, 56}, gen).to(gpu), g = randn({8, 64, 16, 56, 56}, gen).to(gpu);
    double ms = median_ms([&] { bn_case(backward, x, g, gpu, nullptr); });
    // forward: stats read x, apply reads x and writes y; backward adds sums (x, y, dy) and dx (x, y, dy → dx).
    double bytes = double(x.nbytes()) * (backward ? 3.0 + 7.0 : 3.0);
    rows.push_back({backward ? "batch_norm_relu_fwd_bwd" : "batch_norm_relu_fwd", "8x64x16x56x56 f32", bytes, ms, worst});
  }

  // add_relu (residual) on the same activation: read two, write one.
  {
    Tensor a = randn({8, 64, 16, 56, 56}, gen).to(gpu), b = randn({8, 64, 16, 56, 56}, gen).to(gpu);
    Tensor as = a.narrow(0, 0, 1).to(Device::cpu()), bs = b.narrow(0, 0, 1).to(Device::cpu());
    double worst = rel_error(add_relu(as, bs), add_relu(as.to(gpu), bs.to(gpu)));
    double ms = median_ms([&] { (void)add_relu(a, b); });
    rows.push_back({"add_relu", "8x64x16x56x56 f32", 3.0 * double(a.nbytes()), ms, worst});
  }

  // Max pool 3³, stride 2, padding 1 (the Hara stem's) forward + backward: read x, write y and the
  // i64 argmax; backward reads dy and the argmax, writes dx.
  {
    Pool3dOptions o;
    o.kernel = {3, 3, 3}, o.stride = {2, 2, 2}, o.padding = {1, 1, 1};
    auto run = [&](const Tensor& x0, Device d) {
      Tensor x = x0.to(d).detach();
      x.set_requires_grad(true);
      Tensor y = max_pool3d(x, o);
      y.backward(ones(y.shape(), DType::f32, d));
      return x.grad();
    };
    Tensor xs = randn({1, 64, 16, 56, 56}, gen);
    double worst = rel_error(run(xs, Device::cpu()), run(xs, gpu));
    Tensor x = randn({8, 64, 16, 56, 56}, gen).to(gpu);
    double ms = median_ms([&] { (void)run(x, gpu); });
    double in = double(x.nbytes()), out = in / 8;  // 8×64×8×28×28 outputs
    rows.push_back({"max_pool3d_fwd_bwd", "8x64x16x56x56 f32 k3 s2 p1", in + out * 3 + out * 3 + in, ms, worst});
  }

  // The global average pool after layer4 at batch 256 (N 256, C 512, 2×7×7), forward + backward.
  {
    auto run = [&](const Tensor& x0, Device d) {
      Tensor x = x0.to(d).detach();
      x.set_requires_grad(true);
      adaptive_avg_pool3d(x, {1, 1, 1}).backward(ones({x0.shape()[0], 512, 1, 1, 1}, DType::f32, d));
      return x.grad();
    };
    Tensor xs = randn({2, 512, 2, 7, 7}, gen);
    double worst = rel_error(run(xs, Device::cpu()), run(xs, gpu));
    Tensor x = randn({256, 512, 2, 7, 7}, gen).to(gpu);
    double ms = median_ms([&] { (void)run(x, gpu); });
    rows.push_back({"adaptive_avg_pool3d_fwd_bwd", "256x512x2x7x7 f32 -> 1", 2.0 * double(x.nbytes()), ms, worst});
  }

  // SGD and EMA over r3d-18's parameter count (33.4 M, f32).
  {
    const int64_t n = 33'400'000;
    Tensor v = randn({n}, gen);
    OneParameter cm(v.narrow(0, 0, 100'000).contiguous()), gm(v.narrow(0, 0, 100'000).to(gpu));
    nn::FlatParameters cf(cm), gf(gm);
    optim::Sgd cs(cf, {}), gs(gf, {});
    Tensor g = randn({100'000}, gen);
    copy_into(cf.grads(), g);
    copy_into(gf.grads(), g.to(gpu));
    for (int i = 0; i < 2; ++i) cs.step(0.1), gs.step(0.1);
    double worst = rel_error(cf.params(), gf.params());
    OneParameter big(v.to(gpu));
    nn::FlatParameters flat(big);
    copy_into(flat.grads(), randn({n}, gen).to(gpu));
    optim::Sgd sgd(flat, {});
    sgd.step(0.1);  // past the first step's branch
    double ms = median_ms([&] { sgd.step(0.1); });
    rows.push_back({"sgd_step", "33.4M f32", 6.0 * 4.0 * double(n), ms, worst});

    OneParameter other(randn({n}, gen).to(gpu));
    nn::FlatParameters source(other);
    double ms_ema = median_ms([&] { optim::ema_update(flat, source, 0.999); });
    rows.push_back({"ema_update", "33.4M f32", 3.0 * 4.0 * double(n), ms_ema, 0.0});
  }

  std::printf("%s\n", json{{"kind", "copy"}, {"device_name", prop.name}, {"bytes", 2.0 * double(copy_bytes)},
                           {"median_ms", copy_ms}, {"GB_per_s", copy_gbps}}
                          .dump()
                          .c_str());
  for (const Row& r : rows) {
    double gbps = r.bytes / (r.ms * 1e6);
    std::printf("%s\n", json{{"kind", r.kernel},
                             {"device_name", prop.name},
                             {"shape", r.shape},
                             {"min_bytes", r.bytes},
                             {"median_ms", r.ms},
                             {"GB_per_s", gbps},
                             {"fraction_of_copy", gbps / copy_gbps},
                             {"validation_worst_rel_error", r.worst}}
                            .dump()
                            .c_str());
  }
  std::printf("\n%-30s %10s %10s %8s %10s\n", "kernel", "ms", "GB/s", "of copy", "check");
  for (const Row& r : rows) {
    double gbps = r.bytes / (r.ms * 1e6);
    std::printf("%-30s %10.3f %10.1f %7.0f%% %10.1e\n", r.kernel.c_str(), r.ms, gbps, 100 * gbps / copy_gbps, r.worst);
  }
  // A validation far off (f32 lands far under 1e-5 here) marks the run failed for device-check.sh.
  for (const Row& r : rows)
    if (!(r.worst < 1e-4)) {
      std::printf("bench_norm_pool_cuda: %s disagrees with the CPU (worst relative error %g)\n", r.kernel.c_str(),
                  r.worst);
      return 1;
    }
  return 0;
}
