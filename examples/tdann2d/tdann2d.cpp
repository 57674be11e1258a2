// A second topographic model on the mtmap engine, built only against the installed package
// (find_package(mtmap)): a small 2D TDANN on images. Three convolutions (the engine's conv3d with
// T = 1) feed a contrastive head (InfoNCE between two views of a generated grating); the third
// convolution's units sit on a simulated cortical sheet. As in the TDANN: pre-training on InfoNCE
// alone, then the units swap places so that correlated ones sit together, then training with
// InfoNCE + α · the spatial-correlation loss. Finally static gratings at 8 orientations probe the
// sheet's units, and their orientation map (period 180°) goes through the same map and pinwheel
// analysis as the MT model's direction maps.
//
// It is a demonstration of the library, not a study: one seed, a few hundred steps on generated
// gratings. It prints what it measures (the losses, the swap, the tuning, the map's pinwheels) and
// claims nothing else.
//
//   tdann2d [--steps N] [--batch B] [--alpha A] [--lr LR] [--seed S] [--device cpu|cuda:N] [--out DIR]
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "analysis/config.h"
#include "analysis/map_analysis.h"
#include "analysis/tuning_curve.h"
#include "cortex/sheet.h"
#include "cortex/swap.h"
#include "engine/autograd/grad_mode.h"
#include "engine/core/device.h"
#include "engine/core/device_support.h"
#include "engine/core/error.h"
#include "engine/nn/flat_parameters.h"
#include "formats/atomic_file.h"
#include "engine/nn/layers.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "engine/ops/norm_pool.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "engine/optim/sgd.h"
#include "engine/random/generator.h"
#include "engine/tensor/tensor.h"
#include "formats/safetensors.h"
#include "io/grating.h"
#include "losses/info_nce.h"
#include "losses/spatial_loss.h"

using namespace mtmap;

namespace {

constexpr int kSize = 32;          // image side in pixels
constexpr int kOrientations = 8;   // probe orientations, 0°, 22.5°, ..., 157.5°

// The network: conv(5×5, /2) → conv(3×3) → conv(3×3, /2) = the sheet layer, 32 channels on 8×8
// positions; its output averaged over space → a two-layer head → a unit-length embedding.
class Tdann2d : public nn::Module {
 public:
  explicit Tdann2d(Generator& gen, int64_t width = 32, int64_t embed = 64) {
    conv1 = register_module("conv1", std::make_shared<nn::Conv3d>(1, width / 2, std::array<int64_t, 3>{1, 5, 5},
                                                                  std::array<int64_t, 3>{1, 2, 2},
                                                                  std::array<int64_t, 3>{0, 2, 2}, gen));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm3d>(width / 2));
    conv2 = register_module("conv2", std::make_shared<nn::Conv3d>(width / 2, width, std::array<int64_t, 3>{1, 3, 3},
                                                                  std::array<int64_t, 3>{1, 1, 1},
                                                                  std::array<int64_t, 3>{0, 1, 1}, gen));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm3d>(width));
    conv3 = register_module("conv3", std::make_shared<nn::Conv3d>(width, width, std::array<int64_t, 3>{1, 3, 3},
                                                                  std::array<int64_t, 3>{1, 2, 2},
                                                                  std::array<int64_t, 3>{0, 1, 1}, gen));
    bn3 = register_module("bn3", std::make_shared<nn::BatchNorm3d>(width));
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(width, 2 * width, true, gen));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(2 * width, embed, true, gen));
  }

  struct Out {
    Tensor sheet;      // (N, C, 1, 8, 8): the layer on the cortical sheet
    Tensor embedding;  // (N, embed), unit length
  };

  // x (N, 1, 1, 32, 32): images as clips of one frame.
  Out forward(const Tensor& x) const {
    Tensor h = bn1->forward(conv1->forward(x), /*relu=*/true);
    h = bn2->forward(conv2->forward(h), true);
    Tensor sheet = bn3->forward(conv3->forward(h), true);
    Tensor pooled = mean(sheet, {2, 3, 4});  // (N, C)
    Tensor e = fc2->forward(relu(fc1->forward(pooled)));
    return {sheet, l2_normalize(e, 1)};
  }

  std::shared_ptr<nn::Conv3d> conv1, conv2, conv3;
  std::shared_ptr<nn::BatchNorm3d> bn1, bn2, bn3;
  std::shared_ptr<nn::Linear> fc1, fc2;
};

// One grey-level grating image (1, 1, 1, S, S), normalised to about zero mean, unit range.
Tensor grating_image(double orientation_deg, double spatial_freq, double phase, double contrast) {
  io::GratingParams p;
  p.direction_deg = orientation_deg;  // a static grating: the direction's axis is its orientation
  p.spatial_freq = spatial_freq;
  p.temporal_freq = 0;
  p.phase = phase;
  p.contrast = contrast;
  Tensor g = io::drifting_grating(p, 1, kSize, kSize).narrow(0, 0, 1);  // (1, 1, S, S) of (3, 1, S, S)
  return div(sub(g, 0.5), 0.25).reshape({1, 1, 1, kSize, kSize});
}

// Two views of each of `n` random gratings: the same orientation, spatial frequency and contrast,
// independent phases and pixel noise. The contrastive loss asks the network to tell the images
// apart by what the views share.
std::pair<Tensor, Tensor> make_views(int64_t n, std::mt19937_64& rng, Generator& gen, Device device) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Tensor> a, b;
  for (int64_t i = 0; i < n; ++i) {
    double theta = 180 * u(rng), sf = 1.0 / (3 + 7 * u(rng)), contrast = 0.4 + 0.6 * u(rng);
    a.push_back(grating_image(theta, sf, 2 * M_PI * u(rng), contrast));
    b.push_back(grating_image(theta, sf, 2 * M_PI * u(rng), contrast));
  }
  Tensor va = add(cat(a, 0), mul(randn({n, 1, 1, kSize, kSize}, gen), 0.3));
  Tensor vb = add(cat(b, 0), mul(randn({n, 1, 1, kSize, kSize}, gen), 0.3));
  return {va.to(device), vb.to(device)};
}

struct Args {
  int steps = 300, batch = 32;
  double alpha = 1.0, lr = 0.05;
  uint64_t seed = 1;
  std::string device = "cpu", out;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) MTMAP_FAIL("{} needs a value", k);
      return argv[++i];
    };
    if (k == "--steps") a.steps = std::stoi(value());
    else if (k == "--batch") a.batch = std::stoi(value());
    else if (k == "--alpha") a.alpha = std::stod(value());
    else if (k == "--lr") a.lr = std::stod(value());
    else if (k == "--seed") a.seed = std::stoull(value());
    else if (k == "--device") a.device = value();
    else if (k == "--out") a.out = value();
    else if (k == "--help" || k == "-h") {
      std::printf("tdann2d [--steps N] [--batch B] [--alpha A] [--lr LR] [--seed S] [--device cpu|cuda:N] [--out DIR]\n");
      std::exit(0);
    } else MTMAP_FAIL("unknown argument '{}' (try --help)", k);
  }
  MTMAP_CHECK(a.steps >= 1 && a.batch >= 4 && a.batch <= 128, "--steps must be at least 1, --batch within [4, 128]");
  return a;
}

int run(const Args& args) {
  const Device device = Device::parse(args.device);
  require_device(device, "--device");
  Generator gen(args.seed);
  std::mt19937_64 rng(args.seed);

  Tdann2d net(gen);
  net.to(device);
  nn::FlatParameters flat(net);
  optim::Sgd sgd(flat, {.momentum = 0.9, .weight_decay = 1e-4});
  optim::CosineSchedule schedule{.base_lr = args.lr, .warmup_steps = std::min(20, args.steps / 10),
                                 .total_steps = args.steps, .final_lr = 0};

  // The sheet: the 32 × 8 × 8 units of conv3 at retinotopic positions on a 4 mm square, and the
  // 1 mm neighbourhoods the spatial loss draws one window from per step.
  const int64_t C = net.conv3->weight.size(0), H = 8, W = 8;
  cortex::SheetSpec spec{"conv3", 4.0, 1.0};
  Tensor positions = cortex::retinotopic_positions(C, H, W, spec.side_mm, gen);
  cortex::NeighbourhoodOptions nopt;
  nopt.windows = 2000;
  nopt.max_units = 200;
  Tensor neighbourhoods = cortex::neighbourhoods(positions, spec.neighbourhood_mm, gen, nopt);
  Tensor positions_dev = positions.to(device);
  std::printf("tdann2d: %lld parameters, sheet of %lld units (%.1f mm), %lld windows of %lld units, device %s\n",
              (long long)flat.numel(), (long long)(C * H * W), spec.side_mm, (long long)neighbourhoods.size(0),
              (long long)neighbourhoods.size(1), device.str().c_str());

  // InfoNCE in MoCo's form with the batch's own keys (detached) as the negatives: a queue of
  // earlier keys needs MoCo's slowly moving key encoder, which this small example leaves out.
  // The loss at chance is ln(batch + 1).
  std::printf("info_nce at chance: ln(%d) = %.3f\n", args.batch + 1, std::log(double(args.batch + 1)));

  // The losses averaged over every tenth of the run; the first and last of a stage are kept.
  const int report_every = std::max(1, args.steps / 10);
  auto train = [&](int from, int to, double alpha, const char* stage) {
    double sum_nce = 0, sum_sp = 0;
    int n_sum = 0;
    std::vector<double> first, last;  // {info_nce, spatial}
    net.train();
    for (int step = from; step < to; ++step) {
      auto [xa, xb] = make_views(args.batch, rng, gen, device);
      auto a = net.forward(xa);
      auto b = net.forward(xb);
      Tensor nce = losses::info_nce(a.embedding, b.embedding, b.embedding.detach(), 0.2);
      Tensor window = cortex::sample_window(neighbourhoods, gen).to(device);
      Tensor sp = losses::block_spatial_loss(a.sheet, window, positions_dev);
      Tensor loss = alpha > 0 ? add(nce, mul(sp, alpha)) : nce;
      flat.zero_grad();
      loss.backward();
      sgd.step(schedule.lr(step));

      sum_nce += nce.to(Device::cpu()).item(), sum_sp += sp.to(Device::cpu()).item(), ++n_sum;
      if ((step + 1) % report_every == 0 || step + 1 == to) {
        std::printf("step %4d  info_nce %.4f  spatial %.4f%s\n", step + 1, sum_nce / n_sum, sum_sp / n_sum,
                    alpha > 0 ? "" : " (not optimised)");
        if (first.empty()) first = {sum_nce / n_sum, sum_sp / n_sum};
        last = {sum_nce / n_sum, sum_sp / n_sum};
        sum_nce = sum_sp = 0, n_sum = 0;
      }
    }
    if (!first.empty())
      std::printf("%s, first report -> last: info_nce %.4f -> %.4f, spatial %.4f -> %.4f\n", stage, first[0], last[0],
                  first[1], last[1]);
  };

  // 1. Pre-training: the first half of the steps on InfoNCE alone.
  const int pre_steps = args.steps / 2;
  train(0, pre_steps, 0, "pre-training (info_nce)");

  // 2. The sheet's initial arrangement, as in the TDANN (cortex/swap.h): units trade places so that
  //    units whose responses to 512 random gratings correlate sit close together.
  {
    autograd::NoGradGuard no_grad;
    net.eval();
    std::vector<Tensor> r;
    for (int i = 0; i < 512 / args.batch; ++i)
      r.push_back(losses::unit_responses(net.forward(make_views(args.batch, rng, gen, device).first).sheet).to(Device::cpu()));
    Tensor corr = cortex::response_correlation(cat(r, 0));
    cortex::SwapOptions sopt;
    sopt.width_mm = spec.neighbourhood_mm;
    sopt.windows = 4000;
    sopt.attempts_per_window = 200;
    sopt.seed = args.seed;
    const double before = cortex::layer_spatial_loss(positions, corr);
    cortex::SwapResult swapped = cortex::swap_optimise(positions, corr, sopt);
    positions = swapped.positions;
    std::printf("swap: %lld of %lld swaps kept in %.1f s, the layer's spatial loss on these responses %.4f -> %.4f\n",
                (long long)swapped.stats.accepted, (long long)swapped.stats.attempts, swapped.stats.seconds, before,
                cortex::layer_spatial_loss(positions, corr));
    neighbourhoods = cortex::neighbourhoods(positions, spec.neighbourhood_mm, gen, nopt);
    positions_dev = positions.to(device);
  }

  // 3. Training: InfoNCE + α · the spatial loss on one neighbourhood window per step.
  train(pre_steps, args.steps, args.alpha, "training (info_nce + alpha * spatial)");

  // The probe: static gratings at 8 orientations × 3 spatial frequencies × 4 phases, and a grey
  // image for the baseline; each unit's response is its conv3 output (eval mode, running statistics).
  net.eval();
  const std::vector<double> sfs = {1.0 / 4, 1.0 / 6, 1.0 / 8};
  const int phases = 4;
  const int64_t U = C * H * W;
  std::vector<double> resp(size_t(U) * kOrientations * sfs.size(), 0.0);  // (U, orientation, sf), phase-averaged
  std::vector<double> baseline(static_cast<size_t>(U));
  {
    autograd::NoGradGuard no_grad;
    std::vector<Tensor> images;
    for (int o = 0; o < kOrientations; ++o)
      for (double sf : sfs)
        for (int p = 0; p < phases; ++p) images.push_back(grating_image(180.0 * o / kOrientations, sf, 2 * M_PI * p / phases, 1));
    images.push_back(grating_image(0, sfs[0], 0, 0));  // contrast 0: uniform grey
    Tensor r = losses::unit_responses(net.forward(cat(images, 0).to(device)).sheet).to(Device::cpu()).to(DType::f64);
    const std::vector<double> v = r.to_vector<double>();  // (images, U)
    const size_t n_img = images.size();
    for (int64_t u = 0; u < U; ++u) baseline[size_t(u)] = v[(n_img - 1) * size_t(U) + size_t(u)];
    for (int o = 0, i = 0; o < kOrientations; ++o)
      for (size_t s = 0; s < sfs.size(); ++s)
        for (int p = 0; p < phases; ++p, ++i)
          for (int64_t u = 0; u < U; ++u)
            resp[(size_t(u) * kOrientations + size_t(o)) * sfs.size() + s] += v[size_t(i) * size_t(U) + size_t(u)] / phases;
  }

  // Each unit's orientation tuning at its best spatial frequency (baseline subtracted). The tuning
  // metrics take a direction curve over 360°; a static grating at θ + 180° is the grating at θ, so
  // the 8 samples repeated make that curve, and its CV_ax is the orientation selectivity (1 − CV_ax).
  // The preferred orientation is half the angle of Σ R·e^{2iθ} (R clipped at 0).
  analysis::AnalysisConfig cfg;
  analysis::MapUnits units;
  const std::vector<double> xy = positions.contiguous().to_vector<double>();  // (U, 2) in mm
  int tuned = 0;
  double selectivity_sum = 0;
  for (int64_t u = 0; u < U; ++u) {
    size_t best = 0;
    double best_peak = -INFINITY;
    for (size_t s = 0; s < sfs.size(); ++s)
      for (int o = 0; o < kOrientations; ++o)
        if (resp[(size_t(u) * kOrientations + size_t(o)) * sfs.size() + s] > best_peak)
          best_peak = resp[(size_t(u) * kOrientations + size_t(o)) * sfs.size() + s], best = s;
    std::vector<double> curve(2 * kOrientations);
    std::complex<double> z = 0;
    for (int o = 0; o < kOrientations; ++o) {
      double r = resp[(size_t(u) * kOrientations + size_t(o)) * sfs.size() + best] - baseline[size_t(u)];
      curve[size_t(o)] = curve[size_t(o + kOrientations)] = r;
      z += std::max(r, 0.0) * std::polar(1.0, 2 * M_PI * 2 * (180.0 * o / kOrientations) / 360);
    }
    if (std::abs(z) == 0) continue;  // no positive response: no preferred orientation
    analysis::UnitMetrics m = analysis::tuning_metrics(curve, cfg.tuning);
    double pref = std::fmod(std::arg(z) * 180 / M_PI / 2 + 180, 180);
    units.x_mm.push_back(xy[2 * size_t(u)]);
    units.y_mm.push_back(xy[2 * size_t(u) + 1]);
    units.theta_deg.push_back(pref);
    units.weight.push_back(1 - m.cv_ax);
    ++tuned;
    selectivity_sum += 1 - m.cv_ax;
  }
  std::printf("orientation tuning: %d of %lld units respond to a grating, mean selectivity (1 - CV_ax) %.3f\n", tuned,
              (long long)U, tuned ? selectivity_sum / tuned : 0.0);
  std::printf("preferred orientations (units per 22.5° bin from 0°):");
  for (int b = 0; b < kOrientations; ++b) {
    int count = 0;
    for (double t : units.theta_deg) count += int(std::fmod(t + 11.25, 180.0) / 22.5) == b;
    std::printf(" %d", count);
  }
  std::printf("\n");
  if (tuned == 0) {
    std::printf("no unit responds: no map\n");
    return 1;
  }

  // The orientation map: the same smoothing, pinwheel and spectrum code as the direction maps,
  // with period 180° (the field is Σ w·e^{2iθ}, pinwheel charges ±½).
  cfg.map.period_deg = 180;
  cfg.map.smoothing_width_mm = 0.3;
  cfg.map.grid_spacing_mm = 0.05;
  analysis::MapResult map = analysis::analyze_map(units, cfg);
  const auto& pw = map.pinwheels;
  std::printf("orientation map: %d×%d grid, %d pinwheels (+½: %d, −½: %d; %d confirmed by zero crossings) in %.2f mm², "
              "%.2f per mm²\n",
              map.grid.nx, map.grid.ny, pw.n_positive + pw.n_negative, pw.n_positive, pw.n_negative, pw.matched,
              pw.analysed_area_mm2, pw.density_per_mm2);
  if (map.spectrum_error.empty())
    std::printf("column spacing Λ %.2f mm, pinwheels per Λ² %.2f\n", map.spectrum.lambda_mm, map.density_per_lambda2);
  else
    std::printf("column spacing: none (%s)\n", map.spectrum_error.c_str());

  if (!args.out.empty()) {
    std::filesystem::create_directories(args.out);
    net.to(Device::cpu());
    formats::save_module(args.out + "/tdann2d.safetensors", net, {{"model", "tdann2d"}});
    cortex::save_sheets(args.out + "/sheet.safetensors", {{spec, positions, neighbourhoods}});
    formats::write_file_atomic(args.out + "/orientation_map.json", analysis::map_result_json(map).dump(2) + "\n");
    std::printf("wrote %s/{tdann2d.safetensors, sheet.safetensors, orientation_map.json}\n", args.out.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a line at a time, also into a log file
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tdann2d: %s\n", e.what());
    return 2;
  }
}
