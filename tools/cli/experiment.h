#pragma once
// An experiment file holds every command's sections: training reads model, data, sheets and
// training (training/train_config.h); the analysis reads model, probe, tuning, map, stats, figures
// and run (analysis/config.h). Each command parses its own sections strictly; a top-level key that
// no command reads is an error naming the sections there are.
#include <nlohmann/json.hpp>

#include <string>

namespace mtmap::cli {

struct Experiment {
  std::string path;
  nlohmann::json train = nlohmann::json::object();     // the training sections (and model)
  nlohmann::json analysis = nlohmann::json::object();  // the analysis sections (and model)
};

Experiment split_experiment(const nlohmann::json& j, const std::string& path);
Experiment read_experiment(const std::string& path);

}  // namespace mtmap::cli
