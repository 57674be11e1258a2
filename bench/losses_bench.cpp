#include "bench/losses_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "bench/timing.h"
#include "engine/core/device_support.h"
#include "engine/core/threads.h"
#include "engine/ops/elementwise.h"
#include "engine/random/generator.h"
#include "losses/info_nce.h"
#include "cortex/sheet.h"
#include "losses/spatial_loss.h"
#include "cortex/swap.h"
#ifdef MTMAP_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace mtmap::bench {
namespace {

using json = nlohmann::json;

void sync(const Device& d) {
#ifdef MTMAP_WITH_CUDA
  if (d.is_cuda()) cudaDeviceSynchronize();
#else
  (void)d;
#endif
}

// Median seconds of the spatial loss forward + backward for one window of `width` mm.
double spatial_seconds(int64_t B, int64_t M, double width, Device d, int reps, uint64_t seed) {
  Generator g(seed);
  Tensor x = randn({B, M}, g).to(d);
  x.set_requires_grad(true);
  Tensor target = losses::inverse_distance(mul(rand({M, 2}, g, DType::f64), width)).to(DType::f32).to(d);
  return median_seconds(
      [&] {
        x.zero_grad();
        losses::spatial_loss(x, target).backward();
        sync(d);
      },
      1, reps);
}

double info_nce_seconds(int64_t N, int64_t D, int64_t K, Device d, int reps) {
  Generator g(3);
  Tensor q = randn({N, D}, g).to(d), k = randn({N, D}, g).to(d), queue = randn({K, D}, g).to(d);
  q.set_requires_grad(true);
  k.set_requires_grad(true);
  return median_seconds(
      [&] {
        q.zero_grad();
        k.zero_grad();
        losses::info_nce(q, k, queue, 0.2).backward();
        sync(d);
      },
      1, reps);
}

bool have_gpu() {
#ifdef MTMAP_WITH_CUDA
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
#else
  return false;
#endif
}

}  // namespace

void run_losses_bench(const LossesBenchConfig& c, std::ostream& out, std::ostream& table) {
  const int threads = c.step.threads > 0 ? c.step.threads : num_threads();
  if (c.step.threads > 0) set_num_threads(c.step.threads);
  std::vector<Device> devices{Device::cpu()};
  if (c.gpu && have_gpu()) devices.push_back(Device::cuda(0));
  const auto sheets = cortex::preprint_sheets();
  for (const Device& d : devices) {
    double total = 0;
    for (size_t i = 0; i < sheets.size(); ++i) {
      double s = spatial_seconds(c.batch, c.window_units, sheets[i].neighbourhood_mm, d, c.step.reps, 10 + i);
      total += s;
      out << json{{"kind", "spatial_loss"}, {"device", d.str()},  {"block", sheets[i].block}, {"B", c.batch},
                  {"M", c.window_units},    {"threads", threads}, {"seconds_fwd_bwd", s}}
                 .dump()
          << "\n";
    }
    double nce = info_nce_seconds(c.batch, c.nce_dim, c.queue, d, c.step.reps);
    out << json{{"kind", "info_nce"}, {"device", d.str()},  {"N", c.batch},          {"D", c.nce_dim},
                {"K", c.queue},       {"threads", threads}, {"seconds_fwd_bwd", nce}}
               .dump()
        << "\n";
    table << fmt::format(
        "{}: spatial loss fwd+bwd, 8 blocks at B = {}, M = {}: {:.4f} s ({:.4f} s per block); "
        "InfoNCE fwd+bwd N = {}, K = {}: {:.4f} s\n",
        d.str(), c.batch, c.window_units, total, total / 8, c.batch, c.queue, nce);
  }
  // The CPU fraction of a training step, at the step's own batch (the 8 windows at M = 500 units,
  // InfoNCE against the full queue), the step measured in this run.
  {
    const int64_t B = c.step.batch;
    double loss = 0;
    for (size_t i = 0; i < sheets.size(); ++i)
      loss += spatial_seconds(B, c.window_units, sheets[i].neighbourhood_mm, Device::cpu(), c.step.reps, 20 + i);
    loss += info_nce_seconds(B, c.nce_dim, c.queue, Device::cpu(), c.step.reps);
    double step = train_step_seconds(c.step);
    out << json{{"kind", "losses_fraction_of_step"},
                {"device", "cpu"},
                {"batch", B},
                {"width", c.step.width},
                {"frames", c.step.frames},
                {"size", c.step.size},
                {"threads", threads},
                {"losses_seconds", loss},
                {"train_step_seconds", step},
                {"fraction", loss / step}}
               .dump()
        << "\n";
    table << fmt::format(
        "cpu, batch {}: 8 spatial losses + InfoNCE {:.4f} s; training step (width {}, {}×{}², "
        "without the losses) {:.3f} s; losses / step = {:.3f}\n",
        B, loss, c.step.width, c.step.frames, c.step.size, step, loss / step);
  }
  // Swap optimisation attempts/s on a retinotopic layer with the MT sheet's geometry.
  {
    Generator g(5);
    const cortex::SheetSpec mt = cortex::find_sheet(sheets, "layer3.1");
    Tensor pos = cortex::retinotopic_positions(c.swap_channels, c.swap_side, c.swap_side, mt.side_mm, g);
    const int64_t U = pos.size(0);
    const auto t0 = std::chrono::steady_clock::now();
    Tensor corr = cortex::response_correlation(randn({32, U}, g, DType::f32));
    const double corr_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cortex::SwapOptions o;
    o.width_mm = mt.neighbourhood_mm;
    o.windows = c.swap_windows;
    o.seed = 1;
    o.progress_every = std::max<int64_t>(1, c.swap_windows / 10);
    o.progress = [&](const cortex::SwapProgress& p) {
      table << fmt::format("  swap: {}/{} windows, {} attempts, {} accepted, {:.1f} s\n", p.windows_done,
                           p.windows_total, p.attempts, p.accepted, p.seconds)
            << std::flush;
    };
    cortex::SwapResult r = cortex::swap_optimise(pos, corr, o);
    double rate = double(r.stats.attempts) / r.stats.seconds;
    out << json{{"kind", "swap"},
                {"units", U},
                {"window_mm", o.width_mm},
                {"max_units", o.max_units},
                {"windows", o.windows},
                {"attempts", r.stats.attempts},
                {"accepted", r.stats.accepted},
                {"threads", threads},
                {"seconds", r.stats.seconds},
                {"attempts_per_s", rate},
                {"seconds_for_5e7_attempts", 5e7 / rate},
                {"corr_seconds", corr_s}}
               .dump()
        << "\n";
    table << fmt::format(
        "swap optimisation: {} units, windows of {} mm (≤ {} units): {:.3g} attempts/s; "
        "5·10⁷ attempts would take {:.0f} s at this rate\n",
        U, o.width_mm, o.max_units, rate, 5e7 / rate);
  }
}

}  // namespace mtmap::bench
