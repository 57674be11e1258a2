// The study section of an experiment file: how it expands into runs, how runs share stages, and
// the exact error of each kind of bad file.
#include <catch2/catch.hpp>

#include <set>

#include "formats/json_config.h"
#include "study/stage_graph.h"
#include "study/study_config.h"
#include "tests/training/training_fixtures.h"

using namespace mtmap;
using nlohmann::json;

namespace {

json with(json j, const json& patch) {
  j.merge_patch(patch);
  return j;
}

std::vector<std::string> labels(const study::Study& s) {
  std::vector<std::string> v;
  for (const auto& r : s.runs) v.push_back(r.label);
  return v;
}

int count(const study::StageGraph& g, study::StageKind k) {
  int n = 0;
  for (const auto& s : g.stages) n += s.kind == k;
  return n;
}

}  // namespace

TEST_CASE("a study expands into runs: seeds, then objectives, α ascending", "[study]") {
  const json j = with(test::smoke_json(), {{"study", {{"alphas", {0.5, 0}},
                                                      {"objectives", {"joint", "contrastive", "spatial"}},
                                                      {"seeds", {1, 2}}}}});
  const study::Study s = study::study_from_json(j, "smoke.json");
  CHECK(s.spec.name == "smoke");
  CHECK(labels(s) == std::vector<std::string>{"joint-a0-s1", "joint-a0.5-s1", "contrastive-s1", "spatial-a0.5-s1",
                                              "joint-a0-s2", "joint-a0.5-s2", "contrastive-s2", "spatial-a0.5-s2"});
  const study::RunSpec& r = s.runs[3];
  CHECK(r.train.training.objective == training::Objective::spatial);
  CHECK(r.train.training.alpha == 0.5);
  CHECK(r.train.training.seed == 1);
  CHECK(r.analysis.run.label == "spatial-a0.5-s1");
  CHECK(*r.analysis.run.alpha == 0.5);
  CHECK(r.analysis.run.objective == "spatial");
  // The resolved file has every section, defaults filled in, and reads back to the same study.
  const json resolved = s.resolved();
  for (const char* k : {"model", "data", "sheets", "training", "probe", "tuning", "map", "stats", "figures", "study"})
    CHECK(resolved.contains(k));
  CHECK(labels(study::study_from_json(resolved, "smoke.json")) == labels(s));

  // ablation_alpha: one spatial run per seed at that α.
  const json a = with(j, {{"study", {{"ablation_alpha", 2.5}}}});
  CHECK(labels(study::study_from_json(a, "x.json"))[3] == "spatial-a2.5-s1");
}

TEST_CASE("runs share the stages whose inputs are equal", "[study]") {
  json j = with(test::smoke_json(), {{"study", {{"alphas", {0, 0.5, 2.5}},
                                                {"objectives", {"joint", "contrastive"}},
                                                {"seeds", {1, 2}}}}});
  SECTION("scratch: one training per run, except joint α = 0 and contrastive, which are one") {
    const study::StageGraph g = study::plan_stages(study::study_from_json(j, "s.json"));
    CHECK(count(g, study::StageKind::pretrain) == 0);
    CHECK(count(g, study::StageKind::swap) == 0);
    CHECK(count(g, study::StageKind::train) == 6);     // 3 per seed: α 0 (= contrastive), 0.5, 2.5
    CHECK(count(g, study::StageKind::analyse) == 8);   // every run its own analysis (its own label)
    CHECK(g.run_stages[0][0] == g.run_stages[3][0]);  // joint-a0-s1 and contrastive-s1 train once
  }
  SECTION("staged: one pre-training and one swap per seed, for every α and objective") {
    j["training"]["schedule"] = "staged";
    j["training"]["pretrain_steps"] = 5;
    const study::StageGraph g = study::plan_stages(study::study_from_json(j, "s.json"));
    CHECK(count(g, study::StageKind::pretrain) == 2);
    CHECK(count(g, study::StageKind::swap) == 2);
    CHECK(count(g, study::StageKind::train) == 6);
    for (const auto& chain : g.run_stages) {
      REQUIRE(chain.size() == 4);
      CHECK(g.stages[size_t(chain[1])].upstream == chain[0]);
      CHECK(g.stages[size_t(chain[2])].upstream == chain[1]);
      CHECK(g.stages[size_t(chain[3])].upstream == chain[2]);
    }
    CHECK(g.stages[size_t(g.run_stages[0][0])].runs.size() == 4);  // seed 1's four runs
    // Every stage folder name is unique, and a stage's key changes with what it reads.
    std::set<std::string> names;
    for (const auto& s : g.stages) names.insert(s.name);
    CHECK(names.size() == g.stages.size());
    json other = j;
    other["training"]["pretrain_steps"] = 6;
    const study::StageGraph g2 = study::plan_stages(study::study_from_json(other, "s.json"));
    CHECK(g2.stages[0].name != g.stages[0].name);
    // Pre-training given in epochs is a stage too.
    other["training"].erase("pretrain_steps");
    other["training"]["pretrain_epochs"] = 2;
    CHECK(count(study::plan_stages(study::study_from_json(other, "s.json")), study::StageKind::pretrain) == 2);
  }
}

TEST_CASE("bad experiment files: each error names the key and what is allowed", "[study]") {
  struct Case {
    json patch;
    const char* error;
  };
  const Case cases[] = {
      {{{"studdy", json::object()}},
       "bad.json.studdy: unknown config section (sections: model, data, sheets, training, probe, tuning, map, stats, "
       "figures, run, study)"},
      {{{"study", {{"alpha", {0.5}}}}}, "bad.json.study.alpha: unknown config key"},
      {{{"study", {{"alphas", json::array()}}}}, "bad.json.study.alphas is empty (need at least one α ≥ 0)"},
      {{{"study", {{"alphas", {0.5, -1}}}}}, "bad.json.study.alphas[1] = -1 (need ≥ 0)"},
      {{{"study", {{"alphas", {0.5, 0.5}}}}}, "bad.json.study.alphas[1] = 0.5 is listed twice"},
      {{{"study", {{"alphas", "0.5"}}}}, "bad.json.study.alphas: wrong type"},
      {{{"study", {{"objectives", {"joint", "spacial"}}}}},
       "bad.json.study.objectives[1]: 'spacial' is not one of: joint, contrastive, spatial"},
      {{{"study", {{"seeds", {1, 1}}}}}, "bad.json.study.seeds[1] = 1 is listed twice"},
      {{{"study", {{"name", "a/b"}}}}, "bad.json.study.name = 'a/b' (need a non-empty name without '/'"},
      {{{"study", {{"ablation_alpha", 0.5}}}}, "bad.json.study.ablation_alpha is set but study.objectives has no 'spatial'"},
      {{{"study", {{"alphas", {0}}, {"objectives", {"spatial"}}}}},
       "bad.json.study: no run (the spatial objective needs an α > 0 in study.alphas or study.ablation_alpha)"},
      {{{"training", {{"alpha_per_block", {{"layer3.1", 1.0}}}}}},
       "bad.json.study.alphas sweeps training.alpha, but training.alpha_per_block fixes α for 1 block(s)"},
      {{{"run", {{"label", "x"}}}}, "bad.json.run: mtmap run names each run itself"},
      {{{"training", {{"batch_size", 0}}}}, "bad.json.training.batch_size = 0"},
      {{{"probe", {{"directions", 1}}}},
       "bad.json: config probe.directions = 1 (need an even number ≥ 4, so every direction has its opposite)"},
      {{{"data", {{"source", "videos"}, {"paths", {"/no/such/folder"}}}}},
       "bad.json.data.paths[0] = '/no/such/folder': no such file or folder"},
  };
  for (const Case& c : cases) {
    INFO(c.patch.dump());
    CHECK_THROWS_WITH(study::study_from_json(with(test::smoke_json(), c.patch), "bad.json"), Catch::Contains(c.error));
  }
}

TEST_CASE("the repository's experiments are valid studies", "[study]") {
  const std::string dir = std::string(MTMAP_SOURCE_DIR) + "/experiments/";
  const study::Study quick = study::read_study(dir + "quickstart.json");
  CHECK(quick.runs.size() >= 2);
  // preprint.json reads UCF101 from data/: checked here with its paths pointing at a file that exists.
  json pre = formats::read_json_file(dir + "preprint.json");
  pre["data"]["paths"] = {dir + "smoke.json"};
  const study::Study s = study::study_from_json(pre, "preprint.json");
  CHECK(s.runs.size() == 24);  // 3 seeds × (6 α + contrastive + spatial)
  const study::StageGraph g = study::plan_stages(s);
  CHECK(count(g, study::StageKind::train) == 21);  // joint α = 0 and contrastive train once per seed
  CHECK(s.base_train.training.batch_size == 256);
  // The CPU-scale α study of docs/results.md, and its flip control.
  const study::Study cpu = study::read_study(dir + "study_cpu.json");
  CHECK(cpu.runs.size() == 9);  // 3 seeds × 3 α
  CHECK(count(study::plan_stages(cpu), study::StageKind::train) == 9);
  const study::Study flip = study::read_study(dir + "study_cpu_flip_shared.json");
  CHECK(flip.runs.size() == 2);
  CHECK(flip.base_train.data.flip == "shared");
  // The full-scale run for a lent GPU: video made on the device, bf16 mixed precision.
  const study::Study gpu = study::read_study(dir + "device_fullscale.json");
  CHECK(gpu.runs.size() == 1);
  CHECK(gpu.base_train.data.generate_on == "device");
  CHECK(gpu.base_train.training.precision == "bf16");
  CHECK(gpu.base_train.model.net.width == 64);
}
