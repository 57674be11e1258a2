// Parity of whole MoCo v2 + spatial-loss training steps with PyTorch (issue #14): this test writes
// the inputs (initial query weights and buffers, clips, queue, each step's windows and the sheet
// positions, hyper-parameters), tools/torch_train_step.py runs two steps in float64 with PyTorch's
// modules, autograd and SGD, and MocoTrainer::step runs the same two steps here. Compared after each
// step: the loss parts (InfoNCE, each block's spatial loss, the total) to 1e-10 relative; the
// gradients to 1e-9; the query and key encoders' parameters, both encoders' batch-norm running
// statistics, the queue to 1e-9 (relative to each tensor's largest value); batch counts and the
// queue pointer exactly. Two steps, so that the EMA of a query that has moved, the momentum buffer
// and the queue pointer are all exercised. Skipped (exit 77) where PyTorch is not installed.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "tests/model/parity_error.h"
#include "cortex/sheet.h"
#include "engine/autograd/grad_mode.h"
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"
#include "engine/random/generator.h"
#include "formats/safetensors.h"
#include "tests/training/training_fixtures.h"
#include "training/initial_model.h"
#include "training/moco.h"

using namespace mtmap;

namespace {

using test::relative_error;

// The worst relative error of each kind of quantity, for the log and the margin.
struct Worst {
  std::map<std::string, double> err;
  void note(const std::string& kind, double e) { err[kind] = std::max(err[kind], e); }
};

void expect_close(Worst& worst, const std::string& kind, const std::string& what, const Tensor& ours, const Tensor& ref,
                  double tol) {
  INFO(what << ": ours " << ours.str() << " reference " << ref.str());
  REQUIRE(ours.shape() == ref.shape());
  const double err = relative_error(ours, ref);
  worst.note(kind, err);
  INFO("relative error " << err << " (tolerance " << tol << ")");
  CHECK(err <= tol);
}

void expect_close(Worst& worst, const std::string& kind, const std::string& what, double ours, double ref, double tol) {
  const double err = std::isfinite(ours) && std::isfinite(ref) ? std::fabs(ours - ref) / std::max(std::fabs(ref), 1e-300)
                                                                 : HUGE_VAL;
  worst.note(kind, err);
  INFO(what << ": ours " << ours << " reference " << ref << ", relative error " << err << " (tolerance " << tol << ")");
  CHECK(err <= tol);
}

// Every element of an i64 buffer equal (the batch counters).
void expect_equal_i64(const std::string& what, const Tensor& ours, const Tensor& ref) {
  INFO(what << ": ours " << ours.str() << " reference " << ref.str());
  REQUIRE(ours.numel() == ref.numel());
  CHECK(ours.contiguous().to_vector<int64_t>() == ref.contiguous().to_vector<int64_t>());
}

}  // namespace

TEST_CASE("PyTorch parity: two whole MoCo + spatial-loss training steps, float64", "[torch][training]") {
  constexpr double kLossTol = 1e-10, kTol = 1e-9;
  constexpr int kSteps = 2;
  const std::vector<double> lrs = {0.2, 0.15};

  // The smoke experiment's model (width 4, 4 × 32 × 32 clips, projection 16) in float64, its two
  // sheet blocks with different α; MoCo settings moved off their defaults so each one shows.
  training::TrainConfig config = test::smoke_config();
  config.model.net.dtype = DType::f64;
  config.training.objective = training::Objective::joint;
  config.training.alpha_per_block = {{"layer2.1", 0.7}, {"layer3.1", 0.3}};
  config.training.moco_momentum = 0.9;
  config.training.momentum = 0.8;
  config.training.weight_decay = 5e-3;
  config.training.temperature = 0.2;
  const int64_t N = config.training.batch_size, K = config.training.queue_size;
  REQUIRE(N == 4);
  REQUIRE(K == 16);

  training::InitialModel m = training::init_model(config.model, 3, config.sheets.blocks);
  {
    // Batch norm starts at weight 1, bias 0, mean 0, variance 1: move every 1-D parameter and the
    // running statistics off those values, so a swapped weight and bias, or a key encoder that did
    // not copy the buffers, shows.
    autograd::NoGradGuard no_grad;
    Generator noise(11);
    for (const nn::NamedTensor& p : m.net->named_parameters())
      if (p.tensor.ndim() == 1)
        copy_into(p.tensor, add(p.tensor, mul(randn(p.tensor.shape(), noise, DType::f64), 0.1)));
    for (const nn::NamedTensor& b : m.net->named_buffers()) {
      if (b.tensor.dtype() != DType::f64) continue;
      Tensor r = randn(b.tensor.shape(), noise, DType::f64);
      copy_into(b.tensor, b.name.ends_with("running_var") ? add(mul(abs(r), 0.3), 0.5) : mul(r, 0.2));
    }
  }

  const std::string dir = test::fresh_dir("torch-train-step");
  formats::save_module(dir + "/weights.safetensors", *m.net);

  Generator queue_gen(4), hood_gen(5), data(7), windows(8);
  std::vector<training::SpatialTerm> terms;
  for (const auto& s : m.sheets) {
    REQUIRE(config.alpha(s.block) > 0);
    terms.push_back({s.block, config.alpha(s.block), s.positions,
                     cortex::neighbourhoods(s.positions, s.neighbourhood_mm, hood_gen, config.sheets.neighbourhoods)});
  }
  REQUIRE(terms.size() == 2);
  training::MocoTrainer trainer(m.net, config.training, Device::cpu(), queue_gen);

  // The inputs: the queue the trainer starts with, per step the clips and the windows the trainer
  // will draw (a copy of its generator, drawn in block order).
  std::vector<std::pair<std::string, Tensor>> inputs;
  inputs.emplace_back("queue", trainer.queue().contiguous());
  for (const auto& t : terms) inputs.emplace_back("positions." + t.block, t.positions);
  Generator windows_copy = windows;
  std::vector<Tensor> query_clips, key_clips;
  const auto& ms = config.model;
  for (int s = 1; s <= kSteps; ++s) {
    query_clips.push_back(randn({N, 3, ms.frames, ms.size, ms.size}, data, DType::f64));
    key_clips.push_back(randn({N, 3, ms.frames, ms.size, ms.size}, data, DType::f64));
    inputs.emplace_back(fmt::format("step{}.query_clips", s), query_clips.back());
    inputs.emplace_back(fmt::format("step{}.key_clips", s), key_clips.back());
    for (const auto& t : terms)
      inputs.emplace_back(fmt::format("step{}.window.{}", s, t.block), cortex::sample_window(t.neighbourhoods, windows_copy));
  }
  formats::save_safetensors(dir + "/inputs.safetensors", inputs);
  nlohmann::json j;
  j["stem"] = "r3d";
  REQUIRE(ms.net.stem == models::Stem::r3d);
  j["width"] = ms.net.width;
  j["depth"] = ms.net.depth;
  j["projection_dim"] = ms.net.projection_dim;
  j["temperature"] = config.training.temperature;
  j["moco_momentum"] = config.training.moco_momentum;
  j["momentum"] = config.training.momentum;
  j["weight_decay"] = config.training.weight_decay;
  j["lr"] = lrs;
  for (const auto& t : terms) j["blocks"].push_back({{"name", t.block}, {"alpha", t.alpha}});
  std::ofstream(dir + "/config.json") << j.dump(2);

  const std::string cmd =
      fmt::format("{} {}/tools/torch_train_step.py {}", MTMAP_TORCH_PYTHON, MTMAP_SOURCE_DIR, dir);
  const int rc = std::system(cmd.c_str());
  REQUIRE((WIFEXITED(rc) ? WEXITSTATUS(rc) : 1) == 0);
  const formats::SafetensorsFile ref = formats::load_safetensors(dir + "/reference.safetensors");
  auto scalar = [&](const std::string& name) { return ref.at(name).to(DType::f64).to_vector<double>().at(0); };

  Worst worst;
  for (int s = 1; s <= kSteps; ++s) {
    const std::string pre = fmt::format("step{}.", s);
    INFO("step " << s);
    const training::StepResult r = trainer.step(query_clips[size_t(s - 1)], key_clips[size_t(s - 1)], terms, windows,
                                                lrs[size_t(s - 1)], s);
    expect_close(worst, "loss parts", pre + "info_nce", r.info_nce, scalar(pre + "info_nce"), kLossTol);
    REQUIRE(r.spatial.size() == terms.size());
    for (const auto& [block, value] : r.spatial)
      expect_close(worst, "loss parts", pre + "spatial " + block, value, scalar(pre + "spatial." + block), kLossTol);
    expect_close(worst, "loss parts", pre + "total", r.loss, scalar(pre + "loss"), kLossTol);

    // The gradients of this step's loss (the flat gradient buffer keeps them until the next step).
    for (const nn::NamedTensor& p : trainer.query().named_parameters())
      expect_close(worst, fmt::format("step {} gradients", s), pre + "grad." + p.name, p.tensor.grad(),
                   ref.at(pre + "grad." + p.name), kTol);

    for (const auto& [encoder, net] : {std::pair<std::string, models::ResNet3d*>{"query", &trainer.query()},
                                       std::pair<std::string, models::ResNet3d*>{"key", &trainer.key()}}) {
      for (const nn::NamedTensor& p : net->named_parameters())
        expect_close(worst, encoder + " parameters", pre + encoder + "." + p.name, p.tensor.detach(),
                     ref.at(pre + encoder + "." + p.name), kTol);
      for (const nn::NamedTensor& b : net->named_buffers()) {
        const std::string name = pre + encoder + "." + b.name;
        if (b.tensor.dtype() == DType::i64)
          expect_equal_i64(name, b.tensor, ref.at(name));
        else
          expect_close(worst, "running statistics", name, b.tensor, ref.at(name), kTol);
      }
    }
    expect_close(worst, "queue", pre + "queue", trainer.queue(), ref.at(pre + "queue"), kTol);
    CHECK(trainer.queue_ptr() == ref.at(pre + "queue_ptr").to_vector<int64_t>().at(0));
  }

  // The comparisons are not vacuous: after step 2 the key encoder is neither the initial weights
  // nor the query, the query moved, and the queue's first two batches are the steps' keys.
  const formats::SafetensorsFile init = formats::load_safetensors(dir + "/weights.safetensors");
  double key_vs_query = 0, key_vs_init = 0;
  for (const nn::NamedTensor& p : trainer.key().named_parameters()) {
    key_vs_query = std::max(key_vs_query, relative_error(ref.at("step2.key." + p.name), ref.at("step2.query." + p.name)));
    key_vs_init = std::max(key_vs_init, relative_error(ref.at("step2.key." + p.name), init.at(p.name)));
  }
  CHECK(key_vs_query > 1e3 * kTol);
  CHECK(key_vs_init > 1e3 * kTol);
  CHECK(trainer.queue_ptr() == 2 * N);

  // The margin, for the log: an error near its tolerance depends on the machine's summation order
  // and must be made better posed, not loosened.
  for (const auto& [kind, e] : worst.err)
    fmt::print("torch train step parity: {:<20} worst relative error {:.2e} (tolerance {:.0e})\n", kind, e,
               kind == "loss parts" ? kLossTol : kTol);
  std::filesystem::remove_all(dir);
}
