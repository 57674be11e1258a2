// One training step of the r3d 3D ResNet-18 on the GPU (forward, backward through a fixed random
// projection of the embedding, SGD with momentum and weight decay), mtmap against PyTorch on the
// same GPU in the same run: milliseconds, clips/s, the ratio, and peak device memory.
//
//   bench_train_step_cuda [--batch 8] [--width 64] [--frames 16] [--size 112] [--reps 5]
//                         [--no-peer] [--python PATH] [--moco [--queue 65536]] [--bf16]
//
// --moco times the whole MoCo training step of docs/training.md instead (both encoders, InfoNCE
// against the queue, the spatial loss on the 8 blocks with the preprint's sheets, EMA, SGD, queue
// update; bench/moco_bench.h) against tools/torch_bench.py --moco on the same GPU, and where the
// step's time goes; and the GPU's dead-leaves batches (data.generate_on = "device",
// io/device_batches.h: 128×128-pixel videos of 48 frames, rendered, cut and augmented) in clips/s
// made against the step's clips/s consumed.
//
// Precision: float32 parameters and activations with TF32 convolutions on both sides (mtmap:
// Conv3dOptions::cuda.allow_tf32 on every Conv3d; PyTorch: torch.backends.cudnn.allow_tf32,
// its default). With --bf16, mixed precision: mtmap's convolutions on bf16 operands with fp32
// accumulation and bf16 activations between them (batch norm with f32 parameters and statistics,
// ReLUs and residual additions in bf16), parameters, head and loss f32
// (ResNet3d::set_bf16_activations, training.precision = "bf16"); PyTorch under
// torch.autocast(bfloat16), which also runs its batch norms, ReLUs and additions on bf16
// activations. The default size is the preprint's: 16×112×112 clips, width 64.
// Before timing, mtmap's step is validated: the loss and every gradient finite, and the loss
// equal to the same network's loss on the CPU (f32, exact convolutions; with --bf16 the CPU
// applies the same bf16 roundings around its convolutions) within the precision's rounding.
// Exits 0 without JSON where no GPU is usable; 1 when the validation fails.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>
#include <nlohmann/json.hpp>

#include "bench/json_lines.h"
#include "bench/moco_bench.h"
#include "bench/timing.h"
#include "engine/autograd/grad_mode.h"
#include "engine/core/device_support.h"
#include "engine/context/execution_context.h"
#include "engine/nn/flat_parameters.h"
#include "engine/nn/layers.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/optim/sgd.h"
#include "io/device_batches.h"
#include "models/resnet3d.h"

using namespace mtmap;
using nlohmann::json;

namespace {

struct Config {
  int64_t batch = 8, width = 64, frames = 16, size = 112;
  int reps = 5;
  bool peer = true;
  bool moco = false;
  bool bf16 = false;
  int64_t queue = 65536;
  std::string python = MTMAP_BENCH_PYTHON;
  std::string tools_dir = MTMAP_BENCH_TOOLS_DIR;
};

Config parse(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument("bench_train_step_cuda: " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--batch") c.batch = std::stoll(value());
    else if (a == "--width") c.width = std::stoll(value());
    else if (a == "--frames") c.frames = std::stoll(value());
    else if (a == "--size") c.size = std::stoll(value());
    else if (a == "--reps") c.reps = std::stoi(value());
    else if (a == "--python") c.python = value();
    else if (a == "--no-peer") c.peer = false;
    else if (a == "--moco") c.moco = true;
    else if (a == "--bf16") c.bf16 = true;
    else if (a == "--queue") c.queue = std::stoll(value());
    else throw std::invalid_argument("bench_train_step_cuda: unknown argument " + a);
  }
  if (c.batch < 2 || c.width < 1 || c.frames < 1 || c.size < 16 || c.reps < 1)
    throw std::invalid_argument("bench_train_step_cuda: batch ≥ 2, width ≥ 1, frames ≥ 1, size ≥ 16, reps ≥ 1");
  return c;
}

// The network, its flat parameters and optimiser on one device, and the step's fixed inputs.
struct Trainer {
  std::unique_ptr<models::ResNet3d> net;
  std::unique_ptr<nn::FlatParameters> flat;
  std::unique_ptr<optim::Sgd> sgd;
  Tensor x, proj;

  Trainer(const Config& c, Device d) {
    Generator g(1);  // the same weights and inputs on every device
    models::ResNet3dConfig mc;
    mc.width = c.width;
    net = std::make_unique<models::ResNet3d>(mc, g);
    net->apply([&](nn::Module& m) {
      if (auto* conv = dynamic_cast<nn::Conv3d*>(&m)) {
        conv->options.cuda.allow_tf32 = !c.bf16;
        conv->bf16_operands = c.bf16;  // on the CPU: the same roundings around an f32 convolution
      }
    });
    // bf16 activations between the convolutions too (on the CPU: rounded f32, the reference).
    net->set_bf16_activations(c.bf16);
    net->to(d);
    flat = std::make_unique<nn::FlatParameters>(*net);
    sgd = std::make_unique<optim::Sgd>(*flat, optim::SgdOptions{0.9, 1e-4});
    x = randn({c.batch, 3, c.frames, c.size, c.size}, g).to(d);
    proj = randn({c.batch, mc.projection_dim}, g).to(d);
  }
  Tensor loss() const { return sum(mul(net->forward(x).embedding, proj)); }
  // Forward, backward, SGD; returns the loss (still on the device).
  Tensor step() {
    flat->zero_grad();
    Tensor l = loss();
    l.backward();
    sgd->step(0.01);
    return l;
  }
};

// Runs tools/torch_bench.py on the GPU; its JSON lines, or none when it cannot run.
const char* precision_name(const Config& c) {
  return c.bf16 ? "f32 params, bf16 activations and conv3d operands (fp32 accumulation)" : "f32 params, TF32 conv3d";
}

std::vector<json> run_peer(const Config& c) {
  std::string cmd = c.python + " " + c.tools_dir + "/torch_bench.py --device cuda --step-only --threads 1" +
                    std::string(c.bf16 ? " --autocast-bf16" : "") + " --reps " +
                    std::to_string(c.reps) + " --width " + std::to_string(c.width) + " --frames " +
                    std::to_string(c.frames) + " --size " + std::to_string(c.size) + " --batch " +
                    std::to_string(c.batch) + " 2>&1";
  return bench::run_json_lines(cmd, stderr);  // not JSON: a warning or the reason it failed
}

// Seconds per batch of the GPU's dead-leaves batches at the step's batch and clip size, with
// data.dead_leaves_size and _frames at their defaults (what mtmap train makes with
// data.generate_on = "device"): the median over `reps` batches after one.
double generator_seconds(const Config& c) {
  io::DeadLeavesConfig dl;  // 128 × 128, 48 frames, as the trainer's defaults
  io::PairOptions po;
  po.clip.frames = c.frames;
  po.augment.size = int(c.size);
  io::DeadLeavesPairSource source(dl, po, 1, c.batch * (c.reps + 1));
  io::LoaderOptions lo;
  lo.batch_size = int(c.batch);
  const Device gpu = Device::cuda(0);
  const std::unique_ptr<io::BatchStream> batches = io::make_device_batches(source, lo, gpu);
  ExecutionContext& ctx = ExecutionContext::default_for(gpu);
  return bench::median_seconds([&] { batches->next(); ctx.synchronize(); }, 1, c.reps);
}

// The whole MoCo step on the GPU against PyTorch's (docs/training.md).
int run_moco(const Config& c, const cudaDeviceProp& prop) {
  bench::MocoBenchConfig mc;
  mc.width = c.width, mc.frames = c.frames, mc.size = c.size, mc.batch = c.batch, mc.queue = c.queue;
  mc.reps = c.reps;
  mc.device = Device::cuda(0);
  mc.precision = c.bf16 ? "bf16" : "f32";
  const bench::MocoBenchResult ours = bench::run_moco_bench(mc);
  std::string sizes;
  for (const auto& [block, m] : ours.window_units) sizes += (sizes.empty() ? "" : ",") + std::to_string(m);
  double peer_s = 0;
  if (c.peer) {
    const std::string cmd = c.python + " " + c.tools_dir + "/torch_bench.py --device cuda --threads 1" +
                            std::string(c.bf16 ? " --autocast-bf16" : "") + " --reps " +
                            std::to_string(c.reps) + " --width " + std::to_string(c.width) + " --frames " +
                            std::to_string(c.frames) + " --size " + std::to_string(c.size) + " --batch " +
                            std::to_string(c.batch) + " --queue " + std::to_string(c.queue) + " --moco " + sizes +
                            " 2>&1";
    for (const json& j : bench::run_json_lines(cmd, stderr))
      if (j.value("kind", "") == "moco_step") peer_s = j.value("seconds", 0.0);
  }
  json phases = json::object();
  for (const auto& [name, sec] : ours.phases) phases[name] = sec;
  json line{{"bench", "moco_step_cuda"}, {"device", prop.name}, {"precision", precision_name(c)},
            {"batch", c.batch}, {"width", c.width}, {"clip", {c.frames, c.size, c.size}}, {"queue", c.queue},
            {"mtmap_ms", ours.seconds * 1e3}, {"mtmap_clips_per_s", double(c.batch) / ours.seconds},
            {"phase_seconds", phases}};
  if (peer_s > 0) {
    line["torch_ms"] = peer_s * 1e3;
    line["speedup_vs_torch"] = peer_s / ours.seconds;
  }
  const double gen_s = generator_seconds(c);
  line["generator_clips_per_s"] = double(c.batch) / gen_s;
  line["generator_over_step"] = ours.seconds / gen_s;  // ≥ 1: the GPU makes clips faster than it trains on them
  std::printf("%s\n", line.dump().c_str());
  std::printf("\nMoCo training step, r3d-18 width %lld, batch %lld × 3×%lld×%lld×%lld, queue %lld, on %s\n",
              (long long)c.width, (long long)c.batch, (long long)c.frames, (long long)c.size, (long long)c.size,
              (long long)c.queue, prop.name);
  std::printf("%-8s %10.1f ms %10.1f clips/s\n", "mtmap", ours.seconds * 1e3, c.batch / ours.seconds);
  if (peer_s > 0)
    std::printf("%-8s %10.1f ms %10.1f clips/s ratio %.2fx\n", "PyTorch", peer_s * 1e3, c.batch / peer_s,
                peer_s / ours.seconds);
  std::printf("%-8s %10.1f ms %10.1f clips/s made: %.2fx the step's consumption (dead leaves on the GPU)\n",
              "video", gen_s * 1e3, c.batch / gen_s, ours.seconds / gen_s);
  std::printf("where mtmap's step goes:");
  for (const auto& [name, sec] : ours.phases) std::printf(" %s %.1f ms", name.c_str(), sec * 1e3);
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  const Config c = parse(argc, argv);
  if (cuda_device_count() == 0) {
    std::printf("bench_train_step_cuda: no usable CUDA device: nothing to time\n");
    return 0;
  }
  if (c.moco) {
    cudaDeviceProp moco_prop{};
    cudaGetDeviceProperties(&moco_prop, 0);
    return run_moco(c, moco_prop);
  }
  const Device gpu = Device::cuda(0);
  ExecutionContext& ctx = ExecutionContext::default_for(gpu);
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);

  // Validation: the first forward against the CPU's (same weights and inputs, exact f32).
  Trainer t(c, gpu);
  const double gpu_loss = t.loss().to(Device::cpu()).item();
  double cpu_loss = 0;
  {
    autograd::NoGradGuard no_grad;
    Trainer ref(c, Device::cpu());
    cpu_loss = ref.loss().item();
  }
  const double loss_err = std::abs(gpu_loss - cpu_loss) / std::max(1.0, std::abs(cpu_loss));
  t.step();
  ctx.synchronize();
  const std::vector<double> grads = t.flat->grads().to(Device::cpu()).to_vector<double>();
  size_t bad_grads = 0;
  for (double v : grads) bad_grads += !std::isfinite(v);
  // TF32 rounds each product's operands to 11 bits (~5e-4 relative); the loss, a sum over the
  // batch of projections, moves by a few of those: 2e-2 relative is a wide margin, and a wrong
  // kernel moves it by O(1). With --bf16 the CPU reference rounds to bf16 at the same points, but
  // every activation is rounded: where the GPU's fp32 accumulation and the CPU's land on either
  // side of a rounding, the two part by a bf16 step, and the flips compound through the layers and
  // batch statistics (the two are independent bf16 computations, tests/cuda/test_cuda_model.cpp).
  // Measured on the emulator: 1.5e-2 at width 4, 4×16×16, batch 2; 9.4e-3 at width 8, 8×32×32,
  // batch 4. 5e-2 keeps the margin; a wrong kernel still moves the loss by O(1).
  const double tolerance = c.bf16 ? 5e-2 : 2e-2;
  const bool valid = std::isfinite(gpu_loss) && bad_grads == 0 && loss_err < tolerance;

  double step_s = 0;
  if (valid) step_s = bench::median_seconds([&] { t.step(); ctx.synchronize(); }, 1, c.reps);
  const double peak_gib = double(ctx.allocator().stats().peak) / double(1ull << 30);

  json line{{"bench", "train_step_cuda"}, {"device", prop.name}, {"precision", precision_name(c)},
            {"batch", c.batch}, {"width", c.width}, {"clip", {c.frames, c.size, c.size}},
            {"valid", valid}, {"loss_gpu", gpu_loss}, {"loss_cpu", cpu_loss}, {"loss_rel_err", loss_err}, {"loss_rel_tolerance", tolerance},
            {"nonfinite_grads", bad_grads}, {"mtmap_ms", step_s * 1e3},
            {"mtmap_clips_per_s", step_s > 0 ? double(c.batch) / step_s : 0.0}, {"mtmap_peak_gib", peak_gib}};
  double peer_s = 0, peer_gib = 0;
  std::string peer_note = "not asked (--no-peer)";
  if (c.peer && valid) {
    peer_note = "PyTorch did not run (see stderr)";
    for (const json& j : run_peer(c)) {
      if (j.value("kind", "") == "info") line["peer"] = j;
      if (j.value("kind", "") == "train_step") {
        peer_s = j.value("seconds", 0.0);
        peer_gib = j.value("peak_gib", 0.0);
        peer_note = "";
      }
    }
  }
  if (peer_s > 0) {
    line["torch_ms"] = peer_s * 1e3;
    line["torch_clips_per_s"] = double(c.batch) / peer_s;
    line["torch_peak_gib"] = peer_gib;
    line["speedup_vs_torch"] = peer_s / step_s;
  }
  std::printf("%s\n", line.dump().c_str());

  std::printf("\ntraining step, r3d-18 width %lld, batch %lld × 3×%lld×%lld×%lld, %s, on %s\n", (long long)c.width,
              (long long)c.batch, (long long)c.frames, (long long)c.size, (long long)c.size, precision_name(c),
              prop.name);
  std::printf("%-8s %10s %10s %12s %s\n", "", "ms/step", "clips/s", "peak GiB", "check");
  std::printf("%-8s %10.1f %10.1f %12.2f %s\n", "mtmap", step_s * 1e3, step_s > 0 ? c.batch / step_s : 0.0, peak_gib,
              valid ? "loss matches the CPU, gradients finite" : "INVALID (not timed)");
  if (peer_s > 0)
    std::printf("%-8s %10.1f %10.1f %12.2f ratio %.2fx (PyTorch ms / mtmap ms)\n", "PyTorch", peer_s * 1e3,
                c.batch / peer_s, peer_gib, peer_s / step_s);
  else
    std::printf("%-8s %s\n", "PyTorch", peer_note.c_str());
  return valid ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}
