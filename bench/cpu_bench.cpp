#include "bench/cpu_bench.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "bench/fma_peak.h"
#include "bench/json_lines.h"
#include "bench/moco_bench.h"
#include "bench/timing.h"
#include "engine/autograd/grad_mode.h"
#include "engine/core/threads.h"
#include "engine/nn/flat_parameters.h"
#include "engine/ops/conv3d.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/optim/sgd.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_model.h"
#include "models/resnet3d.h"

namespace mtmap::bench {
namespace {

using json = nlohmann::json;

struct Layer {
  std::string name;
  Shape x, w;
  Conv3dOptions o;
};

// The distinct convolutions of r3d-18 (same list as tools/torch_bench.py).
std::vector<Layer> layer_shapes(const CpuBenchConfig& c) {
  auto opts = [](std::array<int64_t, 3> s, std::array<int64_t, 3> p) {
    Conv3dOptions o;
    o.stride = s;
    o.padding = p;
    return o;
  };
  std::vector<Layer> layers{{"stem", {c.batch, 3, c.frames, c.size, c.size}, {c.width, 3, 3, 7, 7}, opts({1, 2, 2}, {1, 3, 3})}};
  int64_t d = c.frames, h = c.size / 2, cin = c.width;
  for (int s = 0; s < 4; ++s) {
    int64_t cout = c.width << s;
    std::string name = "layer" + std::to_string(s + 1);
    if (s == 0) {
      layers.push_back({name, {c.batch, cin, d, h, h}, {cout, cin, 3, 3, 3}, opts({1, 1, 1}, {1, 1, 1})});
    } else {
      layers.push_back({name + ".0.conv1", {c.batch, cin, d, h, h}, {cout, cin, 3, 3, 3}, opts({2, 2, 2}, {1, 1, 1})});
      layers.push_back({name + ".0.downsample", {c.batch, cin, d, h, h}, {cout, cin, 1, 1, 1}, opts({2, 2, 2}, {0, 0, 0})});
      d = (d + 1) / 2;
      h = (h + 1) / 2;
      layers.push_back({name, {c.batch, cout, d, h, h}, {cout, cout, 3, 3, 3}, opts({1, 1, 1}, {1, 1, 1})});
    }
    cin = cout;
  }
  return layers;
}

// Runs the PyTorch peer and collects its JSON lines by kind.
bool run_peer(const CpuBenchConfig& c, int threads, bool layers, std::vector<json>& lines) {
  std::string cmd = fmt::format("{} {}/torch_bench.py --threads {} --reps {} --width {} --frames {} --size {} --batch {}{}",
                                c.python, c.tools_dir, threads, c.reps, c.width, c.frames, c.size, c.batch,
                                layers ? "" : " --step-only");
  bool step = false;  // the peer prints its training step last: without it the peer failed part-way
  for (json& j : run_json_lines(cmd)) {  // other lines: Python's warnings
    step = step || j.value("kind", "") == "train_step";
    lines.push_back(std::move(j));
  }
  return step;
}

}  // namespace

// The whole MoCo training step (docs/training.md): ours with its phases, then the peer's with
// the same window sizes, and the ratio.
static bool run_moco_part(const CpuBenchConfig& c, int threads, std::ostream& out, std::ostream& table) {
  MocoBenchConfig mc;
  mc.width = c.width, mc.frames = c.frames, mc.size = c.size, mc.batch = c.batch, mc.queue = c.queue;
  mc.reps = c.reps;
  const MocoBenchResult ours = run_moco_bench(mc);
  std::vector<std::string> sizes;
  json windows = json::object();
  for (const auto& [block, m] : ours.window_units) sizes.push_back(std::to_string(m)), windows[block] = m;
  json line{{"kind", "moco_step"}, {"seconds", ours.seconds}, {"clips_per_s", double(c.batch) / ours.seconds},
            {"queue", c.queue}, {"alpha", mc.alpha}, {"window_units", windows}};
  json phases = json::object();
  for (const auto& [name, sec] : ours.phases) phases[name] = sec;
  line["phase_seconds"] = phases;
  double peer_s = 0;
  if (c.peer) {
    const std::string cmd =
        fmt::format("{} {}/torch_bench.py --threads {} --reps {} --width {} --frames {} --size {} --batch {} --queue {} "
                    "--alpha {} --moco {}",
                    c.python, c.tools_dir, threads, c.reps, c.width, c.frames, c.size, c.batch, c.queue, mc.alpha,
                    fmt::join(sizes, ","));
    for (const json& j : run_json_lines(cmd))
      if (j.value("kind", "") == "moco_step") peer_s = j["seconds"];
  }
  if (peer_s > 0) {
    line["peer_clips_per_s"] = double(c.batch) / peer_s;
    line["ratio_to_peer"] = peer_s / ours.seconds;
  }
  out << line.dump() << std::endl;
  table << fmt::format("MoCo training step (both encoders, InfoNCE, spatial loss on 8 blocks, EMA, SGD, queue {}): "
                       "{:.2f} clips/s",
                       c.queue, double(c.batch) / ours.seconds);
  if (peer_s > 0)
    table << fmt::format("; PyTorch {:.2f} clips/s; ratio {:.2f}x", double(c.batch) / peer_s, peer_s / ours.seconds);
  else if (c.peer)
    table << "; PyTorch peer did not run";
  table << "\n  where the step's time goes:";
  for (const auto& [name, sec] : ours.phases)
    table << fmt::format(" {} {:.0f}%", name, 100 * sec / ours.seconds);
  table << "\n";
  return !c.peer || peer_s > 0;
}

double train_step_seconds(const CpuBenchConfig& c) {
  Generator g(1);
  models::ResNet3dConfig mc;
  mc.width = c.width;
  models::ResNet3d net(mc, g);
  nn::FlatParameters flat(net);
  optim::Sgd sgd(flat, {});
  Tensor x = randn({c.batch, 3, c.frames, c.size, c.size}, g), proj = randn({c.batch, 128}, g);
  return median_seconds(
      [&] {
        flat.zero_grad();
        sum(mul(net.forward(x).embedding, proj)).backward();
        sgd.step(0.01);
      },
      1, c.reps);
}


bool run_cpu_bench(const CpuBenchConfig& c, std::ostream& out, std::ostream& table) {
  int threads = c.threads > 0 ? c.threads : int(std::thread::hardware_concurrency());
  set_num_threads(threads);
  FmaPeak peak = measure_fma_peak(threads);
  const cpu::CpuModel& model = cpu::cpu_model();
  out << json{{"kind", "machine"},      {"threads", threads},        {"fma_peak_gflops", peak.gflops},
              {"isa", peak.isa},        {"cpu", model.describe()},   {"cpu_family", model.family},
              {"cpu_model", model.model}, {"micro_arch", cpu::arch_name(model.arch)},
              {"kernel_isa", cpu::simd_isa_name(cpu::simd_isa())}}
             .dump()
      << "\n";

  std::vector<json> peer;
  bool peer_ok = !c.peer || run_peer(c, threads, c.layers, peer);
  std::map<std::string, json> peer_layers;
  double peer_step = 0;
  for (const json& j : peer) {
    if (j["kind"] == "conv3d") peer_layers[j["layer"]] = j;
    if (j["kind"] == "train_step") peer_step = j["seconds"];
  }

  // The kernels' set may be lower than the CPU's (MTMAP_CPU_ISA), while the peak is the CPU's.
  table << fmt::format("mtmap bench (CPU): {}, {} threads, measured FMA peak {:.0f} GFLOP/s ({}), kernels {}, "
                       "batch {}, width {}, {}x{}x{}\n",
                       model.describe(), threads, peak.gflops, peak.isa, cpu::simd_isa_name(cpu::simd_isa()), c.batch,
                       c.width, c.frames, c.size, c.size);
  if (c.layers) {
    // Effective FLOPs: the taps that read only zero padding are not counted (both sides skip
    // them), so "% peak" is how much of the machine each kernel uses; nominal FLOPs are in the JSON.
    table << "per layer: effective GFLOP/s (padded taps not counted), as % of the FMA peak; PyTorch's in the same "
             "units; ratio = PyTorch's time / ours\n";
    table << fmt::format("{:<20} {:>4} {:>9} {:>7} {:>9} {:>8}\n", "layer", "op", "GFLOP/s", "% peak", "PyTorch", "ratio");
    autograd::NoGradGuard no_grad;
    Generator g(2);
    for (const Layer& l : layer_shapes(c)) {
      Conv3dProblem p = conv3d_problem(l.x, l.w, l.o);
      Tensor x = randn(l.x, g), w = randn(l.w, g), dy = randn({p.N, p.K, p.Z, p.P, p.Q}, g);
      const double gflop = double(p.flops()) * 1e-9, eff_gflop = double(p.effective_flops()) * 1e-9;
      std::map<std::string, double> secs;
      secs["fprop"] = median_seconds([&] { conv3d(x, w, l.o); }, 1, c.reps);
      secs["dgrad"] = median_seconds([&] { conv3d_dgrad(dy, w, p, l.o.cpu_algo); }, 1, c.reps);
      secs["wgrad"] = median_seconds([&] { conv3d_wgrad(x, dy, p, l.o.cpu_algo); }, 1, c.reps);
      for (const char* op : {"fprop", "dgrad", "wgrad"}) {
        const double ours = eff_gflop / secs[op];
        json line{{"kind", "conv3d"},         {"layer", l.name},         {"op", op},
                  {"gflop", gflop},           {"effective_gflop", eff_gflop}, {"seconds", secs[op]},
                  {"gflops", gflop / secs[op]}, {"effective_gflops", ours}, {"percent_of_peak", 100 * ours / peak.gflops}};
        std::string peer_col = "-", ratio_col = "-";
        if (peer_layers.count(l.name)) {
          double ps = peer_layers[l.name][std::string(op) + "_s"];
          line["peer_effective_gflops"] = eff_gflop / ps;
          line["ratio_to_peer"] = ps / secs[op];
          peer_col = fmt::format("{:.1f}", eff_gflop / ps);
          ratio_col = fmt::format("{:.2f}x", ps / secs[op]);
        }
        out << line.dump() << std::endl;
        table << fmt::format("{:<20} {:>5} {:>9.1f} {:>6.1f}% {:>9} {:>8}\n", l.name, op, ours, 100 * ours / peak.gflops,
                             peer_col, ratio_col);
      }
    }
  }
  // The training step in rounds, ours then the peer's (a fresh peer process from the second round
  // on): on a shared machine the load drifts between two measurements minutes apart, and the
  // median of per-round ratios is steadier than one ratio of two far-apart medians.
  std::vector<double> steps, peer_steps, ratios;
  for (int round = 0; round < std::max(c.rounds, 1); ++round) {
    const double step = train_step_seconds(c);
    double peer_s = 0;
    if (c.peer && round == 0) {
      peer_s = peer_step;
    } else if (c.peer) {
      std::vector<json> lines;
      if (run_peer(c, threads, false, lines))
        for (const json& j : lines)
          if (j["kind"] == "train_step") peer_s = j["seconds"];
    }
    json line{{"kind", "train_step_round"}, {"round", round}, {"seconds", step}, {"clips_per_s", double(c.batch) / step}};
    steps.push_back(step);
    if (peer_s > 0) {
      line["peer_clips_per_s"] = double(c.batch) / peer_s;
      line["ratio_to_peer"] = peer_s / step;
      peer_steps.push_back(peer_s);
      ratios.push_back(peer_s / step);
    }
    out << line.dump() << std::endl;
  }
  const double step = median(steps);
  json line{{"kind", "train_step"}, {"seconds", step}, {"clips_per_s", double(c.batch) / step}, {"rounds", steps.size()}};
  double ratio_min = 0, ratio_max = 0;
  if (!ratios.empty()) {
    ratio_min = *std::min_element(ratios.begin(), ratios.end());
    ratio_max = *std::max_element(ratios.begin(), ratios.end());
    line["peer_clips_per_s"] = double(c.batch) / median(peer_steps);
    line["ratio_to_peer"] = median(ratios);
    line["ratio_to_peer_min"] = ratio_min;
    line["ratio_to_peer_max"] = ratio_max;
  }
  out << line.dump() << "\n";
  table << fmt::format("training step (forward, backward, SGD), median of {} rounds: {:.2f} clips/s", steps.size(),
                       double(c.batch) / step);
  if (!ratios.empty())
    table << fmt::format("; PyTorch {:.2f} clips/s; ratio {:.2f}x (rounds {:.2f}x to {:.2f}x)",
                         double(c.batch) / median(peer_steps), median(ratios), ratio_min, ratio_max);
  else if (c.peer)
    table << "; PyTorch peer did not run (is python3-torch installed?)";
  table << "\n";
  if (c.moco) peer_ok = run_moco_part(c, threads, out, table) && peer_ok;
  return peer_ok;
}

}  // namespace mtmap::bench
