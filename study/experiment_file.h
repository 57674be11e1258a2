#pragma once
// An experiment file holds every command's sections (docs/experiments.md): training reads model,
// data, sheets and training (training/train_config.h); the analysis reads model, probe, tuning,
// map, stats, figures and run (analysis/config.h); `mtmap run` also reads study
// (study/study_config.h). Each reader parses its own sections strictly; a top-level key that no
// reader knows is an error naming the sections there are.
#include <nlohmann/json.hpp>

#include <string>

namespace mtmap::study {

struct Experiment {
  std::string path;
  nlohmann::json train = nlohmann::json::object();     // the training sections (and model)
  nlohmann::json analysis = nlohmann::json::object();  // the analysis sections (and model)
  nlohmann::json study;                                // the study section; null when absent
};

Experiment split_experiment(const nlohmann::json& j, const std::string& path);
Experiment read_experiment(const std::string& path);

}  // namespace mtmap::study
