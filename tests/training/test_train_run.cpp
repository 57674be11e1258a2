// Whole runs of experiments/smoke.json on the CPU: the loss falls, one seed gives the same bits,
// a stopped run resumes to exactly the uninterrupted run's losses and weights, the staged schedule
// writes its stages, and a run folder is never overwritten or resumed with another config.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/core/progress.h"
#include "formats/safetensors.h"
#include "models/checkpoint.h"
#include "tests/training/training_fixtures.h"
#include "training/run_files.h"
#include "training/trainer.h"

using namespace mtmap;
using nlohmann::json;

namespace {

training::TrainSummary run(const training::TrainConfig& c, const std::string& dir, bool resume = false,
                           int64_t stop_after = 0, Progress* progress = nullptr) {
  training::TrainOptions o;
  o.progress = progress;
  o.out_dir = dir;
  o.resume = resume;
  o.live = 0;
  o.stop_after_steps = stop_after;
  o.log = stdout;
  return training::train(c, o);
}

// A Progress that keeps every call.
struct RecordingProgress : Progress {
  void update(double fraction, const std::string& text, bool) override {
    fractions.push_back(fraction);
    updates.push_back(text);
  }
  void message(const std::string& text) override { messages.push_back(text); }
  std::vector<double> fractions;
  std::vector<std::string> updates, messages;
  bool any(const std::vector<std::string>& v, const std::string& part) const {
    return std::any_of(v.begin(), v.end(), [&](const std::string& l) { return l.find(part) != std::string::npos; });
  }
};

std::vector<double> column(const std::vector<json>& lines, const char* key) {
  std::vector<double> v;
  for (const json& l : lines) v.push_back(l.at(key).get<double>());
  return v;
}

double mean(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / double(to - from);
}

// Every tensor of two safetensors files, bit for bit.
void check_same_tensors(const std::string& a, const std::string& b) {
  const formats::SafetensorsFile fa = formats::load_safetensors(a), fb = formats::load_safetensors(b);
  REQUIRE(fa.tensors.size() == fb.tensors.size());
  for (size_t i = 0; i < fa.tensors.size(); ++i) {
    INFO(fa.tensors[i].first);
    REQUIRE(fa.tensors[i].first == fb.tensors[i].first);
    const Tensor& x = fa.tensors[i].second;
    const Tensor& y = fb.tensors[i].second;
    REQUIRE(x.nbytes() == y.nbytes());
    CHECK(std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0);
  }
}

json short_run(int64_t steps, int64_t every) {
  json j = test::smoke_json();
  j["training"]["steps"] = steps;
  j["training"]["checkpoint_every"] = every;
  return j;
}

}  // namespace

TEST_CASE("smoke run: the contrastive loss falls below chance, and one seed gives the same bits",
          "[training][run]") {
  const training::TrainConfig c = test::smoke_config();
  const std::string a = test::fresh_dir("smoke-a"), b = test::fresh_dir("smoke-b");
  const training::TrainSummary sa = run(c, a);
  run(c, b);
  const std::vector<json> ma = test::read_metrics(a), mb = test::read_metrics(b);
  REQUIRE(ma.size() == 40);
  CHECK(column(ma, "loss") == column(mb, "loss"));  // bit for bit
  CHECK(column(ma, "loss") == sa.losses);
  // The queue holds only real keys from step 5 on (16 keys, 4 per step); chance is ln(K + 1).
  const std::vector<double> nce = column(ma, "info_nce");
  const double early = mean(nce, 5, 15), late = mean(nce, 30, 40), chance = std::log(17.0);
  INFO("InfoNCE steps 6-15 " << early << ", steps 31-40 " << late << ", chance " << chance);
  CHECK(late < early - 0.1);
  CHECK(late < chance - 0.15);
  // Every part of the loss is logged, and the files of a finished run are there.
  for (const json& l : ma) {
    CHECK(l.at("spatial").size() == 2);
    CHECK(l.at("loss").get<double>() ==
          Approx(l.at("info_nce").get<double>() +
                 0.5 * (l["spatial"]["layer2.1"].get<double>() + l["spatial"]["layer3.1"].get<double>()))
              .epsilon(1e-6));
    for (const char* k : {"lr", "clips_per_s", "data_wait_s", "step_s"}) CHECK(l.contains(k));
  }
  CHECK(std::filesystem::exists(a + "/config.json"));
  const auto kept = training::list_checkpoints(a);
  REQUIRE(kept.size() == 2);  // keep_checkpoints
  CHECK(kept[0].first == 30);
  CHECK(kept[1].first == 40);
  // model.safetensors is an ordinary checkpoint: analysis loads it as it is.
  const models::Checkpoint ck = models::read_checkpoint(a + "/model.safetensors");
  REQUIRE(ck.spec);
  CHECK(ck.sheets.size() == 2);
  CHECK_NOTHROW(models::load_model(ck, *ck.spec, "the checkpoint"));
}

TEST_CASE("a stopped run resumes to exactly the uninterrupted run's losses and weights", "[training][run]") {
  const training::TrainConfig c = test::smoke_config(short_run(12, 5));
  const std::string whole = test::fresh_dir("resume-whole"), parts = test::fresh_dir("resume-parts");
  run(c, whole);
  const training::TrainSummary first = run(c, parts, false, 7);  // stops after step 7; checkpoint at 5
  CHECK(first.last_step == 7);
  CHECK(first.final_model.empty());
  const training::TrainSummary second = run(c, parts, true);
  CHECK(second.first_step == 5);  // steps 6 and 7 are run again from the checkpoint
  CHECK(column(test::read_metrics(parts), "loss") == column(test::read_metrics(whole), "loss"));
  check_same_tensors(whole + "/model.safetensors", parts + "/model.safetensors");
  check_same_tensors(training::checkpoint_path(whole, 12), training::checkpoint_path(parts, 12));
}

TEST_CASE("a run of training.epochs makes epochs × batches per epoch steps", "[training][run]") {
  json j = short_run(1, 100);
  j["training"].erase("steps");
  j["training"]["epochs"] = 1;  // 12 videos in batches of 4
  const std::string dir = test::fresh_dir("epochs");
  CHECK(run(test::smoke_config(j), dir).last_step == 3);
  CHECK(test::read_metrics(dir).back()["epoch"] == 0);
}

TEST_CASE("a run folder is not overwritten, and a resume refuses another config", "[training][run]") {
  const training::TrainConfig c = test::smoke_config(short_run(3, 2));
  const std::string dir = test::fresh_dir("refuse");
  run(c, dir, false, 2);
  CHECK_THROWS_WITH(run(c, dir), Catch::Contains("already holds a training run; pass --resume"));
  json other = short_run(3, 2);
  other["training"]["seed"] = 2;
  CHECK_THROWS_WITH(run(test::smoke_config(other), dir, true), Catch::Contains("was written by another config"));
  CHECK_THROWS_WITH(run(c, test::fresh_dir("refuse-empty"), true), Catch::Contains("holds no checkpoint"));
  CHECK(run(c, dir, true).last_step == 3);  // the same config still resumes
}

TEST_CASE("staged schedule: pre-training, swap-optimised sheets, joint training, resumable across stages",
          "[training][run]") {
  json j = short_run(3, 100);
  j["training"]["schedule"] = "staged";
  j["training"]["pretrain_steps"] = 3;
  j["training"]["swap"] = {{"probe_batches", 2}, {"windows", 30}, {"attempts_per_window", 40}};
  const training::TrainConfig c = test::smoke_config(j);
  const std::string whole = test::fresh_dir("staged-whole"), parts = test::fresh_dir("staged-parts");
  RecordingProgress rec;  // the whole run reports through it: steps, the swap's windows, messages
  run(c, whole, false, 0, &rec);
  CHECK(rec.any(rec.updates, "swap layer2.1 (1/2): window 30/30"));
  CHECK(rec.any(rec.updates, "swap layer3.1 (2/2): window 30/30"));
  CHECK(rec.any(rec.updates, "train step 6/6"));
  CHECK(std::is_sorted(rec.fractions.begin(), rec.fractions.end()));
  CHECK(rec.fractions.back() == 1.0);
  CHECK(rec.any(rec.messages, "pre-training done at step 3"));
  CHECK(rec.any(rec.messages, "swap layer2.1: 30 windows"));
  CHECK(rec.any(rec.messages, "training done: 6 steps"));
  const std::vector<json> m = test::read_metrics(whole);
  REQUIRE(m.size() == 6);
  for (int i = 0; i < 6; ++i) {
    INFO("step " << i + 1);
    CHECK(m[size_t(i)]["stage"] == (i < 3 ? "pretrain" : "train"));
    CHECK(m[size_t(i)]["spatial"].size() == (i < 3 ? 0u : 2u));
  }
  // Each stage's output is a file: the pre-trained model, then the swapped sheets, which are a
  // permutation of the pre-trained model's positions.
  const models::Checkpoint pre = models::read_checkpoint(whole + "/stages/pretrain.safetensors");
  const models::Checkpoint fin = models::read_checkpoint(whole + "/model.safetensors");
  for (const char* block : {"layer2.1", "layer3.1"}) {
    INFO(block);
    std::vector<double> before = pre.sheet(block)->positions.to_vector<double>();
    std::vector<double> after = fin.sheet(block)->positions.to_vector<double>();
    CHECK(before != after);
    std::vector<std::pair<double, double>> pb, pa;
    for (size_t u = 0; u < before.size(); u += 2) pb.emplace_back(before[u], before[u + 1]), pa.emplace_back(after[u], after[u + 1]);
    std::sort(pb.begin(), pb.end());
    std::sort(pa.begin(), pa.end());
    CHECK(pb == pa);
  }
  CHECK(std::filesystem::exists(whole + "/stages/sheets.safetensors"));
  // Stopped right at the end of pre-training (before the swap), then resumed: the same run.
  run(c, parts, false, 3);
  run(c, parts, true);
  CHECK(column(test::read_metrics(parts), "loss") == column(m, "loss"));
  check_same_tensors(whole + "/model.safetensors", parts + "/model.safetensors");
}

TEST_CASE("staged schedule in separate folders: pre-training, swap, last stage started from each other's checkpoints",
          "[training][run]") {
  // The study runner's stages (study/): pre-training and the swap run once under the config's
  // pretrain_config (shared by every α and objective), the last stage starts from the swap's
  // checkpoint. Together they must give exactly the whole run's numbers.
  json j = short_run(2, 100);
  j["training"]["schedule"] = "staged";
  j["training"]["pretrain_steps"] = 2;
  j["training"]["swap"] = {{"probe_batches", 2}, {"windows", 20}, {"attempts_per_window", 30}};
  j["training"]["objective"] = "spatial";  // pre-training is contrastive whatever the objective
  const training::TrainConfig c = test::smoke_config(j);
  const std::string whole = test::fresh_dir("stages-whole"), pre = test::fresh_dir("stages-pre"),
                    swap = test::fresh_dir("stages-swap"), last = test::fresh_dir("stages-last");
  run(c, whole);
  const std::vector<json> m = test::read_metrics(whole);
  REQUIRE(m.size() == 4);
  CHECK(m[0]["info_nce"].get<double>() > 0);  // contrastive pre-training …
  CHECK(m[3]["info_nce"].get<double>() == 0);  // … then the spatial objective alone

  const training::TrainConfig shared = training::pretrain_config(c);
  training::TrainOptions o;
  o.live = 0;
  o.log = stdout;
  o.out_dir = pre;
  o.stop_at = training::StopAt::before_swap;
  training::train(shared, o);
  o.out_dir = swap;
  o.start_from = pre + "/checkpoints/step-00000002.safetensors";
  o.stop_at = training::StopAt::after_swap;
  training::train(shared, o);
  o.out_dir = last;
  o.start_from = swap + "/checkpoints/step-00000002.safetensors";
  o.stop_at = training::StopAt::end;
  training::train(c, o);
  const std::vector<json> ml = test::read_metrics(last);
  REQUIRE(ml.size() == 2);
  CHECK(column(test::read_metrics(pre), "loss") == std::vector<double>{m[0]["loss"], m[1]["loss"]});
  CHECK(column(ml, "loss") == std::vector<double>{m[2]["loss"], m[3]["loss"]});
  check_same_tensors(whole + "/model.safetensors", last + "/model.safetensors");

  // Another α shares the pre-training; a config that pre-trains otherwise does not.
  json other = j;
  other["training"]["objective"] = "joint";
  other["training"]["alpha"] = 2.5;
  CHECK(training::pretrain_hash(test::smoke_config(other)) == training::pretrain_hash(c));
  other["training"]["seed"] = 7;
  o.out_dir = test::fresh_dir("stages-refused");
  CHECK_THROWS_WITH(training::train(test::smoke_config(other), o), Catch::Contains("differs from this one"));
}
