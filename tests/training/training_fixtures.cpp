#include "tests/training/training_fixtures.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "formats/json_config.h"

namespace mtmap::test {

nlohmann::json smoke_json() { return formats::read_json_file(std::string(MTMAP_SOURCE_DIR) + "/experiments/smoke.json"); }

training::TrainConfig smoke_config(const nlohmann::json& j) {
  nlohmann::json train = nlohmann::json::object();  // smoke.json is a study: its other sections are not training's
  for (const std::string& k : training::kTrainSections)
    if (j.contains(k)) train[k] = j[k];
  return training::train_config_from_json(train, "smoke");
}

std::string fresh_dir(const std::string& tag) {
  const auto dir = std::filesystem::temp_directory_path() / ("mtmap-test-" + std::to_string(getpid()) + "-" + tag);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::vector<nlohmann::json> read_metrics(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace mtmap::test
