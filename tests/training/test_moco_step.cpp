// One MoCo step on a tiny model: the key encoder follows the EMA rule, the queue rotates, the
// objectives of the ablation use what they should, a non-finite loss changes nothing.
#include <catch2/catch.hpp>

#include <cmath>

#include "cortex/sheet.h"
#include "engine/random/generator.h"
#include "models/model_spec.h"
#include "tests/training/training_fixtures.h"
#include "training/initial_model.h"
#include "training/moco.h"

using namespace mtmap;

namespace {

struct Tiny {
  training::TrainConfig config = test::smoke_config();
  std::unique_ptr<training::MocoTrainer> trainer;
  std::vector<training::SpatialTerm> terms;
  Generator data{7}, windows{8};

  explicit Tiny(training::Objective objective = training::Objective::joint, DType dtype = DType::f64) {
    config.model.net.dtype = dtype;
    config.training.objective = objective;
    training::InitialModel m = training::init_model(config.model, 3, config.sheets.blocks);
    Generator queue_gen(4), hood_gen(5);
    trainer = std::make_unique<training::MocoTrainer>(m.net, config.training, Device::cpu(), queue_gen);
    for (const auto& s : m.sheets) {
      if (config.alpha(s.block) <= 0) continue;
      terms.push_back({s.block, config.alpha(s.block), s.positions,
                       cortex::neighbourhoods(s.positions, s.neighbourhood_mm, hood_gen, config.sheets.neighbourhoods)});
    }
  }
  Tensor clips() {
    const auto& m = config.model;
    return randn({config.training.batch_size, 3, m.frames, m.size, m.size}, data, m.net.dtype);
  }
  training::StepResult step(int64_t n = 1) { return trainer->step(clips(), clips(), terms, windows, 0.05, n); }
};

std::vector<double> values(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }

}  // namespace

TEST_CASE("moco: the key encoder is θk ← m·θk + (1 − m)·θq of the query before the step", "[training][moco]") {
  Tiny t;
  const double m = t.config.training.moco_momentum;
  CHECK(values(t.trainer->key_params().params()) == values(t.trainer->query_params().params()));  // starts as a copy
  t.step(1);
  const std::vector<double> key1 = values(t.trainer->key_params().params());
  const std::vector<double> query1 = values(t.trainer->query_params().params());  // after step 1's SGD
  REQUIRE(key1 != query1);
  t.step(2);
  const std::vector<double> key2 = values(t.trainer->key_params().params());
  size_t worst = 0;
  double worst_err = 0;
  for (size_t i = 0; i < key2.size(); ++i) {
    const double expected = m * key1[i] + (1 - m) * query1[i];
    const double err = std::abs(key2[i] - expected) / std::max(std::abs(expected), 1e-300);
    if (err > worst_err) worst_err = err, worst = i;
  }
  INFO("worst element " << worst << ": relative error " << worst_err);
  CHECK(worst_err <= 4e-16);  // float64 rounding of the one expression, nothing more
}

TEST_CASE("moco: the batch's keys enter the queue at the pointer, which moves on by N", "[training][moco]") {
  Tiny t;
  const int64_t N = t.config.training.batch_size, K = t.config.training.queue_size;
  std::vector<double> before = values(t.trainer->queue());
  const int64_t D = t.trainer->queue().size(1);
  for (int64_t s = 1; s <= K / N + 1; ++s) {
    const int64_t ptr = t.trainer->queue_ptr();
    t.step(s);
    CHECK(t.trainer->queue_ptr() == (ptr + N) % K);
    const std::vector<double> after = values(t.trainer->queue());
    for (int64_t row = 0; row < K; ++row) {
      const bool written = row >= ptr && row < ptr + N;
      double changed = 0, norm = 0;
      for (int64_t d = 0; d < D; ++d) {
        changed = std::max(changed, std::abs(after[size_t(row * D + d)] - before[size_t(row * D + d)]));
        norm += after[size_t(row * D + d)] * after[size_t(row * D + d)];
      }
      INFO("step " << s << " row " << row);
      CHECK((changed > 0) == written);
      CHECK(std::abs(norm - 1) < 1e-12);  // keys are L2-normalised embeddings
    }
    before = after;
  }
  CHECK(t.trainer->queue_ptr() == N % K);  // went round once
}

TEST_CASE("moco: the ablation's objectives use only their terms", "[training][moco]") {
  SECTION("contrastive: no spatial term") {
    Tiny t(training::Objective::contrastive);
    t.terms.clear();  // what the trainer builds for α = 0
    const training::StepResult r = t.step();
    CHECK(r.spatial.empty());
    CHECK(r.loss == r.info_nce);
  }
  SECTION("spatial: no InfoNCE, the key encoder and the queue untouched") {
    Tiny t(training::Objective::spatial);
    const std::vector<double> key0 = values(t.trainer->key_params().params()), queue0 = values(t.trainer->queue());
    const training::StepResult r = t.step();
    CHECK(r.info_nce == 0);
    REQUIRE(r.spatial.size() == 2);
    CHECK(r.loss == Approx(0.5 * (r.spatial[0].second + r.spatial[1].second)).epsilon(1e-12));
    CHECK(values(t.trainer->key_params().params()) == key0);
    CHECK(values(t.trainer->queue()) == queue0);
    CHECK(t.trainer->queue_ptr() == 0);
  }
  SECTION("joint: InfoNCE + α·Σ spatial") {
    Tiny t;
    const training::StepResult r = t.step();
    REQUIRE(r.spatial.size() == 2);
    CHECK(r.loss == Approx(r.info_nce + 0.5 * (r.spatial[0].second + r.spatial[1].second)).epsilon(1e-12));
  }
}

TEST_CASE("moco: a non-finite loss names the step and the term, and no parameter, queue entry or step moves",
          "[training][moco]") {
  Tiny t;
  t.step(1);
  const std::vector<double> query0 = values(t.trainer->query_params().params()), queue0 = values(t.trainer->queue());
  const int64_t ptr0 = t.trainer->queue_ptr(), sgd0 = t.trainer->sgd_steps();
  auto unchanged = [&] {
    CHECK(values(t.trainer->query_params().params()) == query0);
    CHECK(values(t.trainer->queue()) == queue0);
    CHECK(t.trainer->queue_ptr() == ptr0);
    CHECK(t.trainer->sgd_steps() == sgd0);
  };
  SECTION("a NaN key clip: the InfoNCE loss is NaN") {
    Tensor bad = t.clips();
    for (int64_t i = 0; i < bad.numel(); ++i) bad.data<double>()[i] = std::nan("");
    CHECK_THROWS_WITH(t.trainer->step(t.clips(), bad, t.terms, t.windows, 0.05, 2),
                      Catch::StartsWith("training stopped at step 2: the InfoNCE loss is nan"));
    unchanged();
  }
  SECTION("one NaN pixel of a query clip: the InfoNCE loss is NaN (the ReLUs pass it on)") {
    Tensor bad = t.clips();
    bad.data<double>()[0] = std::nan("");
    CHECK_THROWS_WITH(t.trainer->step(bad, t.clips(), t.terms, t.windows, 0.05, 2),
                      Catch::StartsWith("training stopped at step 2: the InfoNCE loss is nan"));
    unchanged();
  }
}

TEST_CASE("moco: a NaN the loss does not show is caught in the gradient", "[training][moco]") {
  // The spatial loss treats a NaN column like a constant one (its zero-variance rule), so under the
  // spatial objective a NaN pixel leaves the loss finite; its gradient is not.
  Tiny t(training::Objective::spatial);
  const std::vector<double> query0 = values(t.trainer->query_params().params());
  Tensor bad = t.clips();
  bad.data<double>()[0] = std::nan("");
  CHECK_THROWS_WITH(t.trainer->step(bad, t.clips(), t.terms, t.windows, 0.05, 1),
                    Catch::StartsWith("training stopped at step 1: the gradient of the loss is not finite"));
  CHECK(values(t.trainer->query_params().params()) == query0);
  CHECK(t.trainer->sgd_steps() == 0);
}
