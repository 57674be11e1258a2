#include "study/experiment_file.h"

#include <algorithm>
#include <vector>

#include "engine/core/error.h"
#include "formats/json_config.h"
#include "training/train_config.h"

namespace mtmap::study {

namespace {
const std::vector<std::string> kAnalysisSections = {"model", "probe", "tuning", "map", "stats", "figures", "run"};
bool among(const std::vector<std::string>& v, const std::string& k) { return std::find(v.begin(), v.end(), k) != v.end(); }
}  // namespace

Experiment split_experiment(const nlohmann::json& j, const std::string& path) {
  MTMAP_CHECK(j.is_object(), "{}: expected a JSON object of sections, got {}", path, j.type_name());
  Experiment e;
  e.path = path;
  for (const auto& [key, value] : j.items()) {
    if (key == "study") {
      e.study = value;
      continue;
    }
    const bool train = among(training::kTrainSections, key), analysis = among(kAnalysisSections, key);
    if (!train && !analysis) {
      std::vector<std::string> all = training::kTrainSections;
      for (const auto& s : kAnalysisSections)
        if (!among(all, s)) all.push_back(s);
      all.push_back("study");
      MTMAP_FAIL("{}.{}: unknown config section (sections: {})", path, key, fmt::join(all, ", "));
    }
    if (train) e.train[key] = value;
    if (analysis) e.analysis[key] = value;
  }
  return e;
}

Experiment read_experiment(const std::string& path) { return split_experiment(formats::read_json_file(path), path); }

}  // namespace mtmap::study
