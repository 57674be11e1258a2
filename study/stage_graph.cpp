#include "study/stage_graph.h"

#include <fmt/format.h>

#include <map>

#include "engine/core/error.h"
#include "engine/core/fnv_hash.h"

namespace mtmap::study {
namespace {

using json = nlohmann::json;

// Clip passes of one training step: the query forward and backward (≈ 3 forwards) and the key
// forward, for each clip of the batch. Only ratios matter (the ETA).
double train_step_cost(const training::TrainConfig& c) { return 4.0 * c.training.batch_size; }

// Steps of a stage for the ETA: given, or from epochs (generated video: its videos per epoch; a
// video folder's size is known only once scanned, so 100 batches an epoch stand in).
double steps_of(const training::TrainConfig& c, int64_t steps, double epochs) {
  if (epochs <= 0) return double(steps);
  const double batches = c.data.source == "dead_leaves"
                             ? double(c.data.videos_per_epoch / c.training.batch_size)
                             : 100.0;
  return epochs * batches;
}

double probe_clips(const analysis::AnalysisConfig& a) {
  const analysis::ProbeConfig& p = a.probe;
  return double(p.directions) * double(p.wavelengths_px.size()) * double(p.periods_frames.size()) * p.phases + 1;
}

class Planner {
 public:
  int add(Stage s) {
    s.key = fmt::format("{:016x}", fnv1a64(s.inputs.dump()));
    s.name = fmt::format("{}-{}", stage_kind_name(s.kind), s.key);
    auto it = by_key_.find(s.name);
    if (it != by_key_.end()) return it->second;
    graph.stages.push_back(std::move(s));
    const int index = int(graph.stages.size()) - 1;
    by_key_[graph.stages.back().name] = index;
    return index;
  }
  StageGraph graph;

 private:
  std::map<std::string, int> by_key_;
};

}  // namespace

const char* stage_kind_name(StageKind k) {
  switch (k) {
    case StageKind::pretrain: return "pretrain";
    case StageKind::swap: return "swap";
    case StageKind::train: return "train";
    case StageKind::analyse: return "analyse";
  }
  return "?";
}

training::TrainConfig effective_train_config(const training::TrainConfig& c) {
  if (c.training.objective == training::Objective::spatial) return c;
  for (const auto& s : c.sheets.blocks)
    if (c.alpha(s.block) > 0) return c;
  training::TrainConfig e = c;
  e.training.objective = training::Objective::contrastive;
  e.training.alpha = 0;
  e.training.alpha_per_block.clear();
  e.training.spatial_form = SpatialLossForm::relative;  // no spatial term: its form plays no part
  return e;
}

StageGraph plan_stages(const Study& study) {
  Planner p;
  for (const RunSpec& run : study.runs) {
    std::vector<int> chain;
    const training::TrainConfig tc = effective_train_config(run.train);
    const training::TrainingConfig& t = tc.training;
    int upstream = -1;
    if (t.schedule == training::Schedule::staged) {
      const training::TrainConfig pre = training::pretrain_config(tc);
      const std::string pre_hash = training::train_config_hash(pre);
      if (t.pretrain_steps > 0 || t.pretrain_epochs > 0) {
        Stage s;
        s.kind = StageKind::pretrain;
        s.inputs = {{"stage", "pretrain"}, {"config_hash", pre_hash}};
        s.train = pre;
        s.cost = steps_of(tc, t.pretrain_steps, t.pretrain_epochs) * train_step_cost(tc);
        upstream = p.add(std::move(s));
        chain.push_back(upstream);
      }
      Stage s;
      s.kind = StageKind::swap;
      s.inputs = {{"stage", "swap"}, {"config_hash", pre_hash}};
      s.train = pre;
      s.upstream = upstream;
      // Recording the responses, then the attempts: measured on the quickstart (2 cores), one attempt
      // costs about what 8e-4 clip passes of its training step do (75 s for 8 × 10⁶ attempts
      // beside 0.8 s per step of 16 clips).
      s.cost = double(t.swap.probe_batches) * t.batch_size +
               8e-4 * double(t.swap.windows) * double(t.swap.attempts_per_window) * double(tc.sheets.blocks.size());
      upstream = p.add(std::move(s));
      chain.push_back(upstream);
    }
    {
      Stage s;
      s.kind = StageKind::train;
      s.inputs = {{"stage", "train"}, {"config_hash", training::train_config_hash(tc)}};
      s.train = tc;
      s.upstream = upstream;
      s.cost = steps_of(tc, t.steps, t.epochs) * train_step_cost(tc);
      upstream = p.add(std::move(s));
      chain.push_back(upstream);
    }
    if (study.spec.analyse) {
      Stage s;
      s.kind = StageKind::analyse;
      s.inputs = {{"stage", "analyse"},
                  {"train", p.graph.stages[size_t(upstream)].key},
                  {"config", analysis::config_to_json(run.analysis)}};
      s.analysis = run.analysis;
      s.upstream = upstream;
      s.cost = probe_clips(run.analysis);
      upstream = p.add(std::move(s));
      chain.push_back(upstream);
    }
    for (int i : chain) p.graph.stages[size_t(i)].runs.push_back(run.label);
    p.graph.run_stages.push_back(chain);
  }
  return p.graph;
}

}  // namespace mtmap::study
