#pragma once
// Shared by the training tests: the smoke experiment, fresh run folders, metrics files.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "training/train_config.h"

namespace mtmap::test {

// experiments/smoke.json's training sections, as JSON (to modify) and parsed.
nlohmann::json smoke_json();
training::TrainConfig smoke_config(const nlohmann::json& j = smoke_json());
// An empty folder under the system's temporary folder, named after `tag` (removed first).
std::string fresh_dir(const std::string& tag);
// Every line of a run's metrics.jsonl.
std::vector<nlohmann::json> read_metrics(const std::string& run_dir);

}  // namespace mtmap::test
