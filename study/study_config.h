#pragma once
// A study (docs/experiments.md): one experiment file's sweep of conditions and seeds, expanded into
// runs. The `study` section names what varies; every other section is the same for every run:
//   study.alphas        α values of the joint objective (training.alpha of each run)
//   study.objectives    among joint, contrastive, spatial (the preprint's ablation triad)
//   study.ablation_alpha  α of the spatial-only runs (default: each α > 0 of study.alphas)
//   study.seeds         one run per seed and condition (training.seed)
// The whole file is read and checked here, every run's config included, before anything runs.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/config.h"
#include "training/train_config.h"

namespace mtmap::study {

struct StudySpec {
  std::string name;                       // default: the experiment file's name without .json
  std::vector<double> alphas;             // default: [training.alpha]
  std::vector<training::Objective> objectives = {training::Objective::joint};
  std::optional<double> ablation_alpha;   // spatial objective only
  std::vector<uint64_t> seeds;            // default: [training.seed]
  bool analyse = true;                    // false: train only, no analysis or report
  std::vector<std::string> notes;         // paragraphs at the top of the study report
};

// One training run and its analysis: a condition (objective, α) and a seed.
struct RunSpec {
  std::string label;  // e.g. "joint-a0.5-s1", "contrastive-s2": the run's folder name
  training::Objective objective = training::Objective::joint;
  double alpha = 0;
  uint64_t seed = 0;
  training::TrainConfig train;        // this run's training (its seed, α and objective)
  analysis::AnalysisConfig analysis;  // with the run section filled in
};

struct Study {
  std::string path;
  StudySpec spec;
  training::TrainConfig base_train;        // the file's training sections, defaults filled in
  analysis::AnalysisConfig base_analysis;  // the file's analysis sections, defaults filled in
  std::vector<RunSpec> runs;               // seeds outermost, then conditions in study order
  // The file as it was understood: every section with its defaults (written into the study folder).
  nlohmann::json resolved() const;
};

// Reads, checks and expands an experiment file. Throws mtmap::Error naming the file, the key and
// what is allowed; nothing is written.
Study read_study(const std::string& path);
Study study_from_json(const nlohmann::json& j, const std::string& path);

std::string run_label(training::Objective objective, double alpha, uint64_t seed);

}  // namespace mtmap::study
