#pragma once
// A study as a graph of stages (docs/experiments.md, "Stages and the cache"). Each run is a chain:
//   scratch schedule:  train → analyse
//   staged schedule:   pretrain → swap → train → analyse
// A stage's key is a hash of everything that decides its output (its config and its upstream
// stage's key), and its folder is stages/<kind>-<key>. Runs whose stages have equal inputs share
// them: one pre-training and one swap for a whole α sweep and every objective of a seed, one
// training for the joint objective at α = 0 and the contrastive objective. A stage whose folder
// holds a finished marker is reused, so a rerun, or the same study with one more α or seed, runs
// only what is new.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "analysis/config.h"
#include "study/study_config.h"
#include "training/train_config.h"

namespace mtmap::study {

enum class StageKind { pretrain, swap, train, analyse };
const char* stage_kind_name(StageKind k);

struct Stage {
  StageKind kind = StageKind::train;
  std::string key;                   // 16 hex digits
  std::string name;                  // "<kind>-<key>": its folder under stages/
  nlohmann::json inputs;             // what the key is the hash of (kept in the folder's stage.json)
  int upstream = -1;                 // the stage it starts from (index into StageGraph::stages)
  training::TrainConfig train;       // pretrain, swap, train: what train() runs
  analysis::AnalysisConfig analysis;  // analyse
  std::vector<std::string> runs;     // labels of the runs that use it
  double cost = 0;                   // estimated work in clip passes (for the ETA)
};

struct StageGraph {
  std::vector<Stage> stages;                 // every upstream before its users
  std::vector<std::vector<int>> run_stages;  // per run (Study::runs order): its chain, first to last
};

StageGraph plan_stages(const Study& study);

// The config a run's training stage runs: the joint objective with α = 0 on every sheet is the
// contrastive objective (the same numbers), so both share one stage.
training::TrainConfig effective_train_config(const training::TrainConfig& c);

}  // namespace mtmap::study
