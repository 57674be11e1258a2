// The smoke study end to end through the library: the report and every run's metrics are written;
// a rerun does no work; one more α runs only its branch; a study stopped inside a stage resumes
// that stage and ends with exactly the uninterrupted study's numbers.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "analysis/run_output.h"
#include "formats/json_config.h"
#include "formats/safetensors.h"
#include "study/stage_graph.h"
#include "study/study_config.h"
#include "study/study_runner.h"
#include "tests/training/training_fixtures.h"

using namespace mtmap;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// smoke.json as a staged study of two α, cut to a few steps: every kind of stage runs.
json tiny_study(const json& alphas) {
  json j = test::smoke_json();
  j["study"]["alphas"] = alphas;
  j["training"]["schedule"] = "staged";
  j["training"]["pretrain_steps"] = 2;
  j["training"]["steps"] = 2;
  j["training"]["swap"] = {{"probe_batches", 2}, {"windows", 20}, {"attempts_per_window", 30}};
  return j;
}

study::StudySummary run(const json& j, const std::string& out, int64_t stop_after = 0) {
  study::StudyOptions o;
  o.out_dir = out;
  o.live = 0;
  o.log = stdout;
  o.stop_after_steps = stop_after;
  return study::run_study(study::study_from_json(j, "smoke.json"), o);
}

std::map<std::string, std::string> statuses(const study::StudySummary& s) {
  std::map<std::string, std::string> m;
  for (const auto& st : s.stages) m[st.name.substr(0, st.name.find('-'))] += st.status + " ";
  return m;
}

bool same_file(const std::string& a, const std::string& b) {
  const formats::SafetensorsFile fa = formats::load_safetensors(a), fb = formats::load_safetensors(b);
  if (fa.tensors.size() != fb.tensors.size()) return false;
  for (size_t i = 0; i < fa.tensors.size(); ++i) {
    const Tensor &x = fa.tensors[i].second, &y = fb.tensors[i].second;
    if (x.nbytes() != y.nbytes() || std::memcmp(x.raw(), y.raw(), x.nbytes()) != 0) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("the smoke study: report, reuse, one more α, an interrupted stage resumed", "[study][run]") {
  const std::string out = test::fresh_dir("study");
  const study::StudySummary first = run(tiny_study({0, 0.5}), out);
  CHECK(first.complete);
  CHECK(first.ran == 6);  // pretrain, swap, 2 × (train, analyse)
  CHECK(statuses(first) == std::map<std::string, std::string>{
                               {"pretrain", "ran "}, {"swap", "ran "}, {"train", "ran ran "}, {"analyse", "ran ran "}});
  REQUIRE(fs::exists(out + "/report.html"));
  CHECK(fs::exists(out + "/experiment.json"));
  const json sj = formats::read_json_file(out + "/study.json");
  CHECK(sj["complete"] == true);
  REQUIRE(sj["runs"].size() == 2);
  for (const json& r : sj["runs"]) {
    INFO(r.dump());
    const json m = analysis::read_metrics(out + "/runs/" + r["label"].get<std::string>() + "/analysis");
    CHECK(m["config"]["run"]["label"] == r["label"]);
    CHECK(m.at("tuning").at("n_units").get<int>() > 0);
    CHECK(m.at("kind") == "tuning+map");
    CHECK(fs::exists(out + "/runs/" + r["label"].get<std::string>() + "/train/model.safetensors"));
  }

  // Run again: nothing to do.
  const study::StudySummary again = run(tiny_study({0, 0.5}), out);
  CHECK(again.ran == 0);
  CHECK(again.reused == int(again.stages.size()));

  // One more α: only its training and analysis run; pre-training and swap are shared.
  const study::StudySummary more = run(tiny_study({0, 0.5, 2.5}), out);
  CHECK(more.ran == 2);
  CHECK(statuses(more) == std::map<std::string, std::string>{{"pretrain", "reused "},
                                                             {"swap", "reused "},
                                                             {"train", "reused reused ran "},
                                                             {"analyse", "reused reused ran "}});

  // Interrupted after one step of pre-training, then run again: the stage resumes from its
  // checkpoint and the study ends where the uninterrupted one did, bit for bit.
  const std::string cut = test::fresh_dir("study-cut");
  json every_step = tiny_study({0, 0.5});
  every_step["training"]["checkpoint_every"] = 1;
  const study::StudySummary stopped = run(every_step, cut, 1);
  CHECK_FALSE(stopped.complete);
  CHECK(stopped.stages[0].status == "interrupted");
  CHECK_FALSE(fs::exists(cut + "/report.html"));
  const study::StudySummary resumed = run(every_step, cut);
  CHECK(resumed.complete);
  CHECK(resumed.stages[0].status == "resumed");
  for (const char* label : {"joint-a0-s1", "joint-a0.5-s1"}) {
    INFO(label);
    CHECK(same_file(out + "/runs/" + label + "/train/model.safetensors",
                    cut + "/runs/" + label + "/train/model.safetensors"));
  }
}
