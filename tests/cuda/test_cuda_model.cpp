// End-to-end CUDA parity of the model: a tiny 3D ResNet (width 4, 4×16×16 clips, batch 2, both
// stems) built twice from one seed, one copy moved to the GPU; the forward loss, every parameter
// gradient and the BN running statistics against the CPU, then two SGD steps (forward, backward,
// step) and the parameters after each. Needs conv3d on CUDA (engine/ops/conv3d.cpp).
// Tolerances are norm-relative per parameter, ‖got − want‖ / ‖want‖ (elementwise tolerances fail
// on gradients that cancel to near 0). The problem amplifies rounding: on the CPU in f64, a 1e-7
// relative perturbation of the input moves some parameter gradients by up to 1.4e-4 (measured,
// both stems, batch 2), a factor ~1000. The two devices round differently (other summation
// orders in convolutions and batch statistics, each op a few float roundings of ~6e-8), so
// f32 3e-3 (a few 1e-7 × 1000, with margin; a real bug moves gradients by O(1)); f64 1e-9
// (~1e-16 × 1000, far under).
// After each SGD step the GPU's parameters are compared, then reset to the CPU's: left to drift,
// the two runs part exponentially (layer4's batch norm normalises 2 values per channel at this
// clip size, so a 1e-4 parameter difference became 12 % of layer4.1's output one step later on
// the CUDA emulator, docs/cuda-emulator.md). Reset, every step checks one step's rounding, and
// the momentum buffers (not reset) still carry the GPU's own history. After the first step the
// problem is worse conditioned than the measurement above: with the r3d stem in f32 the gradients
// of step 1 differed by up to 1.25e-2 (emulator run, parameters reset, loss within 1.4e-4), so
// f32 steps >= 1 get 3e-2, still far under the O(1) of a real bug; f64 keeps 1e-9 throughout.
#include <cmath>

#include "engine/context/execution_context.h"
#include "engine/nn/flat_parameters.h"
#include "engine/nn/layers.h"
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/optim/sgd.h"
#include "models/resnet3d.h"
#include "tests/cuda/cuda_test_util.h"

namespace mtmap::test {
namespace {

// Moves every floating parameter and buffer of `m` to device d in place (every handle to it sees
// the move). num_batches_tracked (i64) stays on the host, where BatchNorm3d counts it.
void move_to(const nn::Module& m, Device d) {
  auto move = [&](const std::vector<nn::NamedTensor>& ts) {
    for (const nn::NamedTensor& nt : ts) {
      if (nt.tensor.dtype() == DType::i64) continue;
      Tensor moved = nt.tensor.detach().to(d).contiguous();
      TensorImpl& impl = nt.tensor.impl();
      impl.storage = moved.impl().storage;
      impl.offset = moved.impl().offset;
      impl.strides = moved.impl().strides;
    }
  };
  move(m.named_parameters());
  move(m.named_buffers());
}

double rel_diff(const Tensor& want, const Tensor& got) {
  std::vector<double> w = want.to(Device::cpu()).to_vector<double>(), g = got.to(Device::cpu()).to_vector<double>();
  double num = 0, den = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    num += (g[i] - w[i]) * (g[i] - w[i]);
    den += w[i] * w[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);  // NaN in got → NaN → fails below
}

// Every segment of two flat buffers (parameters or gradients), each within tol, named on failure.
void check_segments(const nn::FlatParameters& layout, const Tensor& want, const Tensor& got, double tol,
                    const std::string& what) {
  for (const nn::ParameterSegment& s : layout.segments()) {
    double r = rel_diff(want.narrow(0, s.offset, s.numel), got.narrow(0, s.offset, s.numel));
    INFO(what << " " << s.name << ": relative difference " << r << ", tolerance " << tol);
    CHECK(r <= tol);
  }
}

struct Side {
  std::unique_ptr<models::ResNet3d> net;
  std::unique_ptr<nn::FlatParameters> flat;
  std::unique_ptr<optim::Sgd> sgd;
};

Side make_side(const models::ResNet3dConfig& c, Device d) {
  Generator gen(2024);  // the same seed on both sides: identical initial weights
  Side s;
  s.net = std::make_unique<models::ResNet3d>(c, gen);
  move_to(*s.net, d);
  s.flat = std::make_unique<nn::FlatParameters>(*s.net);
  s.sgd = std::make_unique<optim::Sgd>(*s.flat, optim::SgdOptions{0.9, 1e-3});
  return s;
}

// A random-projection objective of the embedding and the pooled features (never a plain sum).
Tensor loss_of(const models::ResNet3dOutput& out, const Tensor& p_embed, const Tensor& p_feat) {
  return add(sum(mul(out.embedding, p_embed)), sum(mul(out.features, p_feat)));
}

}  // namespace

TEST_CASE("cuda model: tiny ResNet3d loss, gradients and two SGD steps match the CPU") {
  for (DType t : {DType::f64, DType::f32})
    for (models::Stem stem : {models::Stem::r3d, models::Stem::hara}) {
      PoisonScope poison;
      models::ResNet3dConfig c;
      c.stem = stem;
      c.width = 4;
      c.projection_dim = 8;
      c.dtype = t;
      const double tol0 = t == DType::f64 ? 1e-9 : 3e-3;
      Side cpu = make_side(c, Device::cpu()), dev = make_side(c, gpu());
      Generator gen(7);
      Tensor x = random_input({2, 3, 4, 16, 16}, gen, t);
      Tensor p_embed = random_input({2, 8}, gen, t), p_feat = random_input({2, 32}, gen, t);
      const std::string name = fmt::format("resnet3d {} {}", dtype_name(t), stem == models::Stem::r3d ? "r3d" : "hara");
      for (int step = 0; step < 3; ++step) {
        const std::string what = fmt::format("{} step {}", name, step);
        const double tol = step == 0 || t == DType::f64 ? tol0 : 3e-2;
        cpu.flat->zero_grad();
        dev.flat->zero_grad();
        Tensor want = loss_of(cpu.net->forward(x), p_embed, p_feat);
        Tensor got = loss_of(dev.net->forward(x.to(gpu())), p_embed.to(gpu()), p_feat.to(gpu()));
        INFO(what << " loss: want " << want.item() << ", got " << got.to(Device::cpu()).item());
        CHECK(std::abs(got.to(Device::cpu()).item() - want.item()) <= tol * std::max(1.0, std::abs(want.item())));
        want.backward();
        got.backward();
        check_segments(*cpu.flat, cpu.flat->grads(), dev.flat->grads(), tol, what + " grad");
        std::vector<nn::NamedTensor> wb = cpu.net->named_buffers(), gb = dev.net->named_buffers();
        for (size_t i = 0; i < wb.size(); ++i) {
          if (wb[i].tensor.dtype() == DType::i64) continue;
          double r = rel_diff(wb[i].tensor, gb[i].tensor);
          INFO(what << " buffer " << wb[i].name << ": relative difference " << r);
          CHECK(r <= tol);
        }
        if (step == 2) break;  // two steps taken; the third pass checked their result
        cpu.sgd->step(0.05);
        dev.sgd->step(0.05);
        check_segments(*cpu.flat, cpu.flat->params(), dev.flat->params(), tol, what + " params after step");
        copy_into(dev.flat->params(), cpu.flat->params().to(gpu()));
      }
    }
}

// bf16 mixed precision (nn::Conv3d::bf16_operands, what training.precision = "bf16" sets): the
// f32 model on the GPU, every convolution on bf16 operands, against the same weights and input
// in float64 on the CPU twice: exact, and with the same bf16 roundings applied around each
// convolution (the CPU's bf16_operands: operands, output, and the gradients in and out).
// float64 exact is the reference the tolerance is measured against: printed, and loosely bounded,
// because it is the problem's amplification of rounding (the parity test above measured ~1000 at
// its size; exact f32 lands 7e-6 from float64 on this one) times bf16's 2^-9, not a property of
// the kernels. Measured on the emulator: the loss 2.6 % from float64, the parameters' gradients
// 0.5–54 % (most 10–25 %). What is bounded tightly: the GPU's run lands where the simulated
// roundings land (measured: within 8 % of the rounding's own effect, every parameter; a kernel
// that rounded differently, truncating say, would land as far again), and the rounding shows.
// Batch 4, 4×32×32 clips, batch norm in eval mode (running statistics, an affine map): with batch
// statistics over a handful of values a flipped rounding anywhere moves every gradient by O(1), and
// the GPU and the simulation part as far from each other as from float64 (seen here in training
// mode, 16 values per channel in layer4); training's own batch statistics are checked through the loss of a real
// step (tests/training/test_train_cuda.cpp).
// With bf16 activations as well (ResNet3d::set_bf16_activations, what training.precision = "bf16"
// sets now): the GPU's activations are bf16 tensors, batch norm takes them with f32 parameters,
// and the CPU simulation rounds to bf16 values at the same points; the same bounds hold.
void check_bf16_against_float64(bool activations) {
  INFO((activations ? "bf16 operands and activations" : "bf16 operands"));
  PoisonScope poison;
  models::ResNet3dConfig c;
  c.width = 4;
  c.projection_dim = 8;
  c.dtype = DType::f64;
  Side exact = make_side(c, Device::cpu()), simulated = make_side(c, Device::cpu());
  c.dtype = DType::f32;
  Side dev = make_side(c, gpu());
  const std::vector<nn::NamedTensor> want_p = exact.net->named_parameters(), got_p = dev.net->named_parameters();
  REQUIRE(want_p.size() == got_p.size());
  for (size_t i = 0; i < want_p.size(); ++i) copy_into(got_p[i].tensor, want_p[i].tensor.to(gpu()));
  int convs = 0;
  for (Side* s : {&simulated, &dev})
    s->net->apply([&](nn::Module& m) {
      if (auto* conv = dynamic_cast<nn::Conv3d*>(&m)) conv->bf16_operands = true, ++convs;
    });
  CHECK(convs == 2 * 20);  // the stem, 16 in the blocks, 3 downsampling ones
  if (activations)
    for (Side* s : {&simulated, &dev}) s->net->set_bf16_activations(true);
  for (Side* s : {&exact, &simulated, &dev}) s->net->eval();
  Generator gen(11);
  Tensor x = random_input({4, 3, 4, 32, 32}, gen, DType::f64);
  Tensor p_embed = random_input({4, 8}, gen, DType::f64), p_feat = random_input({4, 32}, gen, DType::f64);
  // The f32 input and projections, as the GPU sees them, for all three.
  x = x.to(DType::f32).to(DType::f64);
  p_embed = p_embed.to(DType::f32).to(DType::f64);
  p_feat = p_feat.to(DType::f32).to(DType::f64);
  Tensor l_exact = loss_of(exact.net->forward(x), p_embed, p_feat);
  const models::ResNet3dOutput out_sim = simulated.net->forward(x, {}, true);
  Tensor l_sim = loss_of(out_sim, p_embed, p_feat);
  const models::ResNet3dOutput out_dev = dev.net->forward(x.to(DType::f32).to(gpu()), {"layer3.1"}, /*trace=*/true);
  Tensor l_dev = loss_of(out_dev, p_embed.to(DType::f32).to(gpu()), p_feat.to(DType::f32).to(gpu()));
  // Between the layers the GPU holds bf16 with bf16 activations, f32 without; what leaves the
  // network (kept blocks, features) is in the model's dtype either way.
  for (const auto& [name, t] : out_dev.trace) {
    INFO(name);
    CHECK(t.dtype() == (activations ? DType::bf16 : DType::f32));
  }
  CHECK(out_dev.blocks.at("layer3.1").dtype() == DType::f32);
  if (activations) {
    // The stem's output, before rounding flips compound: the same bf16 values but where the GPU's
    // float accumulation and the CPU's double one round to neighbours (one bf16 step apart).
    REQUIRE(out_dev.trace.front().first == "stem");
    const std::vector<double> a = out_dev.trace.front().second.to(Device::cpu()).to(DType::f64).to_vector<double>();
    const std::vector<double> b = out_sim.trace.front().second.to_vector<double>();
    size_t differ = 0;
    double worst_steps = 0;
    for (size_t k = 0; k < a.size(); ++k) {
      differ += a[k] != b[k];
      if (a[k] != b[k]) worst_steps = std::max(worst_steps, std::abs(a[k] - b[k]) / (std::abs(b[k]) * 0x1p-7));
    }
    INFO("stem: " << differ << " of " << a.size() << " values differ, by at most " << worst_steps << " bf16 steps");
    CHECK(double(differ) <= 0.01 * double(a.size()));
    CHECK(worst_steps <= 1.01);
  }
  CHECK(out_dev.features.dtype() == DType::f32);
  const double le = l_exact.item(), ls = l_sim.item(), ld = l_dev.to(Device::cpu()).item();
  l_exact.backward();
  l_sim.backward();
  l_dev.backward();
  double worst_dev_exact = 0, worst_sim_exact = 0, worst_dev_sim = 0, ratio_sum = 0, worst_ratio = 0;
  for (const nn::ParameterSegment& s : exact.flat->segments()) {
    auto grad = [&](const Side& side) { return side.flat->grads().narrow(0, s.offset, s.numel); };
    const double de = rel_diff(grad(exact), grad(dev)), se = rel_diff(grad(exact), grad(simulated)),
                 ds = rel_diff(grad(simulated), grad(dev));
    INFO(s.name << ": gradient relative difference, GPU bf16 − float64 " << de << ", simulated − float64 " << se
                << ", GPU bf16 − simulated " << ds);
    if (activations) {
      ratio_sum += de / std::max(se, 1e-3);
      worst_ratio = std::max(worst_ratio, de / std::max(se, 1e-3));
    } else {
      CHECK(ds <= 0.25 * std::max(se, 1e-3));
    }
    worst_dev_exact = std::max(worst_dev_exact, de);
    worst_sim_exact = std::max(worst_sim_exact, se);
    worst_dev_sim = std::max(worst_dev_sim, ds);
  }
  std::printf("bf16 convolution operands%s, loss: GPU %.9g, simulated on the CPU %.9g, float64 %.9g\n"
              "  worst gradient relative difference over %zu parameters: GPU − float64 %.3g, simulated − float64 "
              "%.3g, GPU − simulated %.3g\n",
              activations ? " and activations" : "", ld, ls, le, exact.flat->segments().size(), worst_dev_exact,
              worst_sim_exact, worst_dev_sim);
  CHECK(std::abs(ld - le) <= 5e-2 * std::abs(le));
  CHECK(worst_sim_exact >= 1e-3);  // the roundings are there
  if (!activations) {
    CHECK(std::abs(ld - ls) <= 0.25 * std::abs(ls - le));
    return;
  }
  // Rounded at every layer, the GPU's and the simulation's activations part wherever one rounding
  // falls the other way (one value in 10⁴ at the stem, ~6 % by layer2 here), and the flips
  // compound: the two are independent bf16 computations of the same network, each as far from
  // float64 as the other (measured on the emulator: the GPU's gradient error 1.13× the
  // simulation's on average over the 64 parameters, 2.1× at most; the loss 0.98× as far). What is
  // bounded: the GPU's error is the size of a correct bf16 computation's.
  const double mean_ratio = ratio_sum / double(exact.flat->segments().size());
  std::printf("  GPU's gradient error / the simulation's: mean %.3g, worst %.3g\n", mean_ratio, worst_ratio);
  CHECK(mean_ratio <= 1.5);
  CHECK(worst_ratio <= 3.0);
  CHECK(std::abs(ld - le) <= 1.5 * std::abs(ls - le));
}

TEST_CASE("cuda model: bf16 convolution operands against float64 and the CPU's simulated roundings") {
  check_bf16_against_float64(false);
}

TEST_CASE("cuda model: bf16 activations against float64 and the CPU's simulated roundings") {
  check_bf16_against_float64(true);
}

// What bf16 activations are for: the tensors a training forward keeps for its backward (every
// convolution's input, every batch norm's input and fused-ReLU output) take half the memory of
// f32 ones; the convolutions' bf16 weight copies, saved in both runs, are counted apart.
TEST_CASE("cuda model: bf16 activations keep the forward's saved tensors in about half the memory") {
  models::ResNet3dConfig c;
  c.width = 8;
  c.projection_dim = 8;
  Generator gen(5);
  const Tensor x = random_input({2, 3, 8, 32, 32}, gen, DType::f32).to(gpu());
  const Allocator& alloc = ExecutionContext::current(gpu()).allocator();
  size_t held[2] = {0, 0}, weight_copies = 0;
  for (int activations = 0; activations < 2; ++activations) {
    Side dev = make_side(c, gpu());
    weight_copies = 0;  // the convolutions' bf16 weights, saved for backward in both runs
    dev.net->apply([&](nn::Module& m) {
      if (auto* conv = dynamic_cast<nn::Conv3d*>(&m)) {
        conv->bf16_operands = true;
        weight_copies += size_t(conv->weight.numel()) * 2;
      }
    });
    dev.net->set_bf16_activations(activations == 1);
    const size_t before = alloc.stats().allocated;
    {
      const Tensor loss = sum(dev.net->forward(x).embedding);  // the graph, and what it saved, alive
      held[activations] = alloc.stats().allocated - before - weight_copies;
    }
  }
  std::printf("a training forward's saved activations (besides %zu bytes of bf16 weight copies): %zu bytes f32, %zu "
              "bf16 (%.2fx)\n",
              weight_copies, held[0], held[1], double(held[1]) / double(held[0]));
  CHECK(double(held[1]) <= 0.55 * double(held[0]));
}

}  // namespace mtmap::test
